-- custom_metrics: counts requests per path prefix and response status in a per-worker table and
-- logs `custom_metrics.requests.<prefix>.<status> = <count>` at info level. Envoy's Lua API has no
-- stats, so this is the closest equivalent of the Wasm twin's counter (a capability gap).
-- Lua twin of filters-wasm/custom_metrics; behaviour contract in bench/catalogue.toml.

-- Per worker (one Lua state per worker), kept across requests: counter name -> count.
local counts = {}

function envoy_on_request(request_handle)
  local prefixes = request_handle:metadata():get("prefixes")
  if prefixes == nil then
    error("custom_metrics: missing metadata key prefixes")
  end
  -- First segment: between the first "/" and the next "/", "?" or the end. A target without any
  -- "/" (`*`, authority form) has no segment and counts as `other`.
  local segment = request_handle:headers():get(":path"):match("^[^/]*/([^/?]*)")
  local prefix
  if segment ~= nil then
    for i = 1, #prefixes do
      if prefixes[i] == segment then
        prefix = segment
        break
      end
    end
    if prefix == nil and segment == "" then
      prefix = "root"
    end
  end
  prefix = prefix or "other"
  local dynamic_metadata = request_handle:streamInfo():dynamicMetadata()
  dynamic_metadata:set("envoy.filters.http.lua", "metrics_prefix", prefix)
end

function envoy_on_response(response_handle)
  local metadata = response_handle:streamInfo():dynamicMetadata():get("envoy.filters.http.lua")
  local prefix = metadata and metadata.metrics_prefix
  if prefix == nil then
    return
  end
  local status = response_handle:headers():get(":status")
  local name = "custom_metrics.requests." .. prefix .. "." .. status
  local count = (counts[name] or 0) + 1
  counts[name] = count
  response_handle:logInfo(string.format("%s = %d", name, count))
end
