-- test_callout: the Lua twin of bench/guests/test_callout (test-only, not a pair): calls cluster
-- `x-cluster` (default `users`) at /users/<x-user> with a 500 ms timeout; a 200 reply's JSON
-- field "name" goes into the request header x-user-name; any other reply is answered 502
-- "call failed: status <s>". (An unknown cluster raises here; the Wasm twin answers 500.)
function envoy_on_request(handle)
  local user = handle:headers():get("x-user") or "anonymous"
  local cluster = handle:headers():get("x-cluster") or "users"
  local headers, body = handle:httpCall(cluster, {
    [":method"] = "GET",
    [":path"] = "/users/" .. user,
    [":authority"] = "users.test",
  }, nil, 500)
  local status = headers[":status"]
  if status ~= "200" then
    handle:respond({[":status"] = "502", ["content-type"] = "text/plain"}, "call failed: status " .. status)
    return
  end
  local name = string.match(body or "", '"name"%s*:%s*"([^"]*)"') or "(none)"
  handle:headers():replace("x-user-name", name)
end
