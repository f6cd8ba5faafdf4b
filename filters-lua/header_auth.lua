-- header_auth: only requests whose `allow` header is exactly `true` pass; others get 403 Forbidden.
-- Lua twin of filters-wasm/header_auth; behaviour contract in bench/catalogue.toml.

function envoy_on_request(request_handle)
  -- headers():get joins repeated values with ",", so `allow: true` twice is "true,true" (refused).
  if request_handle:headers():get("allow") ~= "true" then
    request_handle:respond({ [":status"] = "403", ["content-type"] = "text/plain" }, "Forbidden")
  end
end
