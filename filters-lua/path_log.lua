-- path_log: logs `path_log: <:path>` at info level; traffic is not changed.
-- Lua twin of filters-wasm/path_log; behaviour contract in bench/catalogue.toml.

function envoy_on_request(request_handle)
  request_handle:logInfo("path_log: " .. request_handle:headers():get(":path"))
end
