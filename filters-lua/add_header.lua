-- add_header: request gets `x-custom-header: Hello from filter`, response gets `hello: world`.
-- Lua twin of filters-wasm/add_header; behaviour contract in bench/catalogue.toml.

function envoy_on_request(request_handle)
  request_handle:headers():add("x-custom-header", "Hello from filter")
end

function envoy_on_response(response_handle)
  response_handle:headers():add("hello", "world")
end
