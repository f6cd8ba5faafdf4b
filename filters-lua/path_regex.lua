-- path_regex: sets `x-api-version: <digits>` when :path matches `^/api/v([0-9]+)/`.
-- Lua twin of filters-wasm/path_regex; behaviour contract in bench/catalogue.toml.

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  -- Lua pattern equivalent to the regex: [0-9] (not %d) is ASCII digits whatever the locale.
  local version = headers:get(":path"):match("^/api/v([0-9]+)/")
  if version then
    headers:replace("x-api-version", version)
  end
end
