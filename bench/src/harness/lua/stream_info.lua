-- streamInfo() (Envoy's StreamInfoWrapper, with dynamicMetadata()) and connection(). The values
-- are those of the bench's listener: HTTP/1.1 over plain TCP on 127.0.0.1.
local LOCAL_ADDRESS, REMOTE_ADDRESS = P.local_address, P.remote_address

local SI = {}
local STREAM_INFO_MT = { __index = SI }
local DM = {}
local DYNAMIC_MT = { __index = DM }

function H.streamInfo(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  local st = SIDES[self[2]]
  local o = st.stream_info
  if o == nil or o[1] ~= EPOCH then
    o = setmetatable({ EPOCH }, STREAM_INFO_MT)
    st.stream_info = o
  end
  return o
end

local function si_string(value)
  return function(self)
    if self[1] ~= EPOCH then error(SCOPE, 2) end
    return value
  end
end

SI.protocol = si_string("HTTP/1.1")
SI.downstreamLocalAddress = si_string(LOCAL_ADDRESS)
SI.downstreamDirectLocalAddress = si_string(LOCAL_ADDRESS)
SI.downstreamRemoteAddress = si_string(REMOTE_ADDRESS)
SI.downstreamDirectRemoteAddress = si_string(REMOTE_ADDRESS)
SI.requestedServerName = si_string("")
SI.routeName = si_string("")
SI.virtualClusterName = si_string("")

function SI.downstreamSslConnection(self)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  return nil
end

-- dynamicMetadata(): the stream's dynamic metadata, shared by envoy_on_request and
-- envoy_on_response of the same stream. Layout: { epoch, iterating }.
function SI.dynamicMetadata(self)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  local o = self.dynamic
  if o == nil then
    o = setmetatable({ EPOCH, false }, DYNAMIC_MT)
    self.dynamic = o
  end
  return o
end

-- get(filter_name): a fresh table of that namespace's values, or no value.
function DM.get(self, name)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  if type(name) ~= "string" then name = checkstr(name, 1, "get") end
  local ns = DYN and DYN[name]
  if ns == nil then return end
  return to_lua(ns)
end

-- set(filter_name, key, value): merges { key = value } into the namespace (protobuf MergeFrom).
function DM.set(self, name, key, value)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  if self[2] then error("dynamic metadata map cannot be modified while iterating", 2) end
  if type(name) ~= "string" then name = checkstr(name, 1, "set") end
  if type(key) ~= "string" then key = checkstr(key, 2, "set") end
  local v, err = from_lua(value)
  if v == nil then error(err, 2) end
  if DYN == nil then DYN = {} end
  local ns = DYN[name]
  if ns == nil then
    ns = setmetatable({}, STRUCT_MT)
    DYN[name] = ns
  end
  merge(ns, { [key] = v })
end

DYNAMIC_MT.__pairs = function(self)
  if self[1] ~= EPOCH then error(SCOPE, 3) end
  if self[2] then error("cannot create a second iterator before completing the first", 3) end
  self[2] = true
  local key, epoch = nil, self[1]
  local namespaces = DYN or {}
  return function()
    if epoch ~= EPOCH then error(SCOPE, 2) end
    local v
    key, v = next(namespaces, key)
    if key == nil then
      self[2] = false
      return
    end
    return key, to_lua(v)
  end
end

-- connection(): plain TCP, so ssl() is nil.
local CONN = {}
local CONNECTION_MT = { __index = CONN }

function H.connection(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  return setmetatable({ EPOCH }, CONNECTION_MT)
end

function CONN.ssl(self)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  return nil
end
