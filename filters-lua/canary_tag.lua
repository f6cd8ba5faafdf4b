-- canary_tag: without `x-swimlane`, tags the request `canary` or `production` from the FNV-1a
-- 32-bit hash of `x-user-id` (hash % 100 < canary_percent is canary).
-- Lua twin of filters-wasm/canary_tag; behaviour contract in bench/catalogue.toml.

local bxor, lshift, tobit = bit.bxor, bit.lshift, bit.tobit

-- FNV-1a 32-bit. Multiplying by 16777619 = 2^24 + 403 as (h << 24) + h * 403 keeps every
-- intermediate exact in a double; tobit reduces mod 2^32.
local function fnv1a32(s)
  local h = tobit(2166136261)
  for i = 1, #s do
    h = bxor(h, s:byte(i))
    h = tobit(lshift(h, 24) + h * 403)
  end
  return h % 4294967296
end

function envoy_on_request(request_handle)
  local canary_percent = request_handle:metadata():get("canary_percent")
  if canary_percent == nil then
    error("canary_tag: missing metadata key canary_percent")
  end
  local headers = request_handle:headers()
  if headers:get("x-swimlane") ~= nil then
    return
  end
  local user_id = headers:get("x-user-id")
  if user_id == nil then
    return
  end
  if fnv1a32(user_id) % 100 < canary_percent then
    headers:replace("x-swimlane", "canary")
  else
    headers:replace("x-swimlane", "production")
  end
end
