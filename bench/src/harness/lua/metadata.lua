-- metadata(): the route's metadata under the filter's name (env.config), Envoy's
-- MetadataMapWrapper. Values are stored in a protobuf-like form (STRUCT_MT / LIST_MT tables,
-- NULL for null) and handed out as fresh Lua tables on every get, as Envoy converts them anew.
local MM = {}
local METADATA_MT = { __index = MM }

-- A stored value as the Lua value Envoy would push (MetadataMapHelper::setValue).
local function to_lua(v)
  if v == NULL then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  if getmetatable(v) == LIST_MT then
    for i = 1, v.n do out[i] = to_lua(v[i]) end
  else
    for k, x in next, v do out[k] = to_lua(x) end
  end
  return out
end

-- A Lua value in the stored form (MetadataMapHelper::loadValue); nil and a message when a type
-- cannot be stored.
local function from_lua(v)
  local t = type(v)
  if t == "nil" then return NULL end
  if t == "number" or t == "boolean" or t == "string" then return v end
  if t ~= "table" then return nil, format("unexpected type '%s' in dynamicMetadata", t) end
  local max = 0
  for k in next, v do
    if type(k) == "number" and k >= 1 and floor(k) == k then
      if k > max then max = k end
    else
      max = -1
      break
    end
  end
  if max > 0 then
    local list = setmetatable({ n = max }, LIST_MT)
    for i = 1, max do
      local x, err = from_lua(v[i])
      if x == nil then return nil, err end
      list[i] = x
    end
    return list
  end
  local struct = setmetatable({}, STRUCT_MT)
  for k, x in next, v do
    if type(k) ~= "string" then
      return nil, format("unexpected type %s in table key (only string keys are supported)", type(k))
    end
    local y, err = from_lua(x)
    if y == nil then return nil, err end
    struct[k] = y
  end
  return struct
end

-- Protobuf MergeFrom of a stored struct into another (structs merge, lists concatenate).
local function merge(dst, src)
  for k, s in next, src do
    local d = rawget(dst, k)
    local smt = getmetatable(s)
    if smt == STRUCT_MT and getmetatable(d) == STRUCT_MT then
      merge(d, s)
    elseif smt == LIST_MT and getmetatable(d) == LIST_MT then
      for i = 1, s.n do d[d.n + i] = s[i] end
      d.n = d.n + s.n
    else
      dst[k] = s
    end
  end
end

-- An iterator over a stored struct, as Envoy's metadata iterators (one at a time per object).
local function struct_pairs(obj, struct, fname)
  if obj[3] then error("cannot create a second iterator before completing the first", 4) end
  obj[3] = true
  local key, epoch = nil, obj[1]
  return function()
    if epoch ~= EPOCH then error(SCOPE, 2) end
    local v
    key, v = next(struct, key)
    if key == nil then
      obj[3] = false
      return
    end
    return key, to_lua(v)
  end
end

function H.metadata(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  local st = SIDES[self[2]]
  local o = st.metadata
  if o == nil or o[1] ~= EPOCH then
    o = setmetatable({ EPOCH, CONFIG, false }, METADATA_MT)
    st.metadata = o
  end
  return o
end

-- get(key): the value, or no value when the key is absent.
function MM.get(self, key)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  if type(key) ~= "string" then key = checkstr(key, 1, "get") end
  local v = rawget(self[2], key)
  if v == nil then return end
  return to_lua(v)
end

METADATA_MT.__pairs = function(self)
  if self[1] ~= EPOCH then error(SCOPE, 3) end
  return struct_pairs(self, self[2])
end

-- The route's and the virtual host's metadata objects (route():metadata() is the filter's
-- metadata; the virtual host has none).
local EMPTY = setmetatable({}, STRUCT_MT)
local RouteM = {}
local ROUTE_MT = { __index = RouteM }

function H.route(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  return setmetatable({ EPOCH, CONFIG }, ROUTE_MT)
end

function H.virtualHost(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  return setmetatable({ EPOCH, EMPTY }, ROUTE_MT)
end

function RouteM.metadata(self)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  return setmetatable({ EPOCH, self[2], false }, METADATA_MT)
end

-- filterContext(): the filter_context of the configuration (none here).
function H.filterContext(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  return setmetatable({ EPOCH, EMPTY, false }, METADATA_MT)
end
