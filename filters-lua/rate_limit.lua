-- rate_limit: fixed window per client (first x-forwarded-for entry), requests_per_window requests
-- per window_seconds; beyond that 429 `Rate limit exceeded`, otherwise the response gets
-- `x-rate-limit-remaining`.
-- Lua twin of filters-wasm/rate_limit; behaviour contract in bench/catalogue.toml.

-- Per worker (one Lua state per worker), kept across requests: client key -> { t0, count }.
local windows = {}

local function client_key(forwarded_for)
  if forwarded_for == nil then
    return "unknown"
  end
  local first = forwarded_for:match("^[^,]*"):match("^[ \t]*(.-)[ \t]*$")
  if first == "" then
    return "unknown"
  end
  return first
end

function envoy_on_request(request_handle)
  local metadata = request_handle:metadata()
  local limit = metadata:get("requests_per_window")
  if limit == nil then
    error("rate_limit: missing metadata key requests_per_window")
  end
  local window_seconds = metadata:get("window_seconds")
  if window_seconds == nil then
    error("rate_limit: missing metadata key window_seconds")
  end

  local key = client_key(request_handle:headers():get("x-forwarded-for"))
  local now = math.floor(request_handle:timestamp() / 1000)
  local window = windows[key]
  if window == nil or now - window.t0 >= window_seconds then
    window = { t0 = now, count = 0 }
    windows[key] = window
  end
  window.count = window.count + 1

  if window.count > limit then
    request_handle:respond({ [":status"] = "429", ["x-rate-limit-exceeded"] = "true",
      ["content-type"] = "text/plain" }, "Rate limit exceeded")
    return
  end
  local remaining = string.format("%d", limit - window.count)
  local dynamic_metadata = request_handle:streamInfo():dynamicMetadata()
  dynamic_metadata:set("envoy.filters.http.lua", "rate_limit_remaining", remaining)
end

function envoy_on_response(response_handle)
  -- Only requests that were let through carry the value (envoy_on_response also sees our 429).
  local metadata = response_handle:streamInfo():dynamicMetadata():get("envoy.filters.http.lua")
  local remaining = metadata and metadata.rate_limit_remaining
  if remaining then
    response_handle:headers():replace("x-rate-limit-remaining", remaining)
  end
end
