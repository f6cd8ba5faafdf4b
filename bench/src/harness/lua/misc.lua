-- Logging, time, base64 and the crypto helpers of the stream handle.
local p_log, p_now_ms, p_timestamp_string, p_base64_escape, p_import_public_key =
  P.log, P.now_ms, P.timestamp_string, P.base64_escape, P.import_public_key

-- logTrace/logDebug/logInfo/logWarn/logErr/logCritical(message): to env.logs.
local function logger(level, fname)
  return function(self, message)
    if self[1] ~= LIVE then error(SCOPE, 2) end
    if type(message) ~= "string" then message = checkstr(message, 1, fname) end
    p_log(level, message)
  end
end
H.logTrace = logger(0, "logTrace")
H.logDebug = logger(1, "logDebug")
H.logInfo = logger(2, "logInfo")
H.logWarn = logger(3, "logWarn")
H.logErr = logger(4, "logErr")
H.logCritical = logger(5, "logCritical")

-- The resolution argument of timestamp()/timestampString(): absent or "" is milliseconds,
-- otherwise the number of an EnvoyTimestampResolution value.
local function resolution(unit, fname)
  if unit == nil then return 0 end
  if type(unit) ~= "string" then unit = checkstr(unit, 1, fname) end
  if unit == "" then return 0 end
  return tonumber(unit, 10)
end

-- timestamp(): milliseconds since the epoch (env.clock), as a Lua number.
function H.timestamp(self, unit)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  if unit ~= nil and resolution(unit, "timestamp") ~= 0 then
    error("timestamp format must be MILLISECOND.", 2)
  end
  return p_now_ms()
end

-- timestampString(): the same, or microseconds, as a decimal string.
function H.timestampString(self, unit)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  local r = resolution(unit, "timestampString")
  if r ~= 0 and r ~= 1 then
    error("timestamp format must be MILLISECOND or MICROSECOND.", 2)
  end
  return p_timestamp_string(r)
end

-- base64Escape(bytes): standard base64 with padding (absl::Base64Escape).
function H.base64Escape(self, input)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  if type(input) ~= "string" then input = checkstr(input, 1, "base64Escape") end
  return p_base64_escape(input)
end

-- importPublicKey(der, length) returns a key object whose get() gives the handle for
-- verifySignature, or nil when the key could not be imported. Like Envoy, the first key object
-- of a callback is returned again for later imports. Keys are kept per handle.
local PK = {}
local PUBLIC_KEY_MT = { __index = PK }

function H.importPublicKey(self, der, length)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  if type(der) ~= "string" then der = checkstr(der, 1, "importPublicKey") end
  length = checkint(length, 2, "importPublicKey")
  local st = SIDES[self[2]]
  local o = st.public_key
  if o ~= nil and o[1] == EPOCH then return o end
  local key = p_import_public_key(sub(der, 1, length))
  if key ~= nil then
    st.keys = st.keys or {}
    st.keys[key] = true
  end
  o = setmetatable({ EPOCH, key }, PUBLIC_KEY_MT)
  st.public_key = o
  return o
end

function PK.get(self)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  return self[2]
end

-- verifySignature(hash, key, signature, signature_length, text, text_length): true, nil or
-- false, message. Keys come from importPublicKey():get() of the same callback.
local p_verify_signature = P.verify_signature
function H.verifySignature(self, hash, key, signature, signature_length, text, text_length)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  if type(hash) ~= "string" then hash = checkstr(hash, 1, "verifySignature") end
  if type(key) ~= "string" then key = checkstr(key, 2, "verifySignature") end
  local keys = SIDES[self[2]].keys
  if keys == nil or not keys[key] then error("invalid public key", 2) end
  if type(signature) ~= "string" then signature = checkstr(signature, 3, "verifySignature") end
  signature_length = checknum(signature_length, 4, "verifySignature")
  if type(text) ~= "string" then text = checkstr(text, 5, "verifySignature") end
  text_length = checknum(text_length, 6, "verifySignature")
  return p_verify_signature(hash, key, sub(signature, 1, signature_length), sub(text, 1, text_length))
end

-- clearRouteCache(): nothing to clear in this model (one route).
function H.clearRouteCache(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
end
