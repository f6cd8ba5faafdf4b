-- test_strip_session: removes the `session` cookie from the request's `cookie` header; when the
-- route metadata says `strip_authorization = true`, also removes an `authorization` header that
-- carries a Pomerium token. A filter with a configured branch, written for tests/configs.rs (the
-- walkthrough of issue 25 with two configurations); its Wasm twin is bench/guests/test_strip_session.
--
-- Like the production filter it imitates, it splits the value `get` returns on ";": a client that
-- sends two `cookie` headers has them joined with "," first, so the session cookie in the second
-- one is not found (a leak that `filterbench record` flags as worth a look).
function envoy_on_request(handle)
  local headers = handle:headers()
  local cookie = headers:get("cookie")
  if cookie ~= nil then
    local kept = {}
    for part in string.gmatch(cookie, "[^;]+") do
      local trimmed = part:gsub("^ +", "")
      if trimmed:sub(1, 8) ~= "session=" then
        kept[#kept + 1] = trimmed
      end
    end
    if #kept == 0 then
      headers:remove("cookie")
    else
      headers:replace("cookie", table.concat(kept, "; "))
    end
  end
  if handle:metadata():get("strip_authorization") == true then
    local authorization = headers:get("authorization")
    if authorization ~= nil and authorization:sub(1, 9) == "Pomerium " then
      headers:remove("authorization")
    end
  end
end
