-- trace_id: keeps a non-empty `x-trace-id` or sets 32 random lowercase hex characters, and sets
-- the same value on the response.
-- Lua twin of filters-wasm/trace_id; behaviour contract in bench/catalogue.toml.

-- Seeded once per Lua state (one per worker); the table address differs between workers.
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)

local function random_hex32()
  local random = math.random
  return string.format("%04x%04x%04x%04x%04x%04x%04x%04x", random(0, 65535), random(0, 65535),
    random(0, 65535), random(0, 65535), random(0, 65535), random(0, 65535), random(0, 65535),
    random(0, 65535))
end

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local trace_id = headers:get("x-trace-id")
  if trace_id == nil or trace_id == "" then
    trace_id = random_hex32()
    headers:replace("x-trace-id", trace_id)
  end
  request_handle:streamInfo():dynamicMetadata():set("envoy.filters.http.lua", "trace_id", trace_id)
end

function envoy_on_response(response_handle)
  local metadata = response_handle:streamInfo():dynamicMetadata():get("envoy.filters.http.lua")
  local trace_id = metadata and metadata.trace_id
  if trace_id then
    response_handle:headers():replace("x-trace-id", trace_id)
  end
end
