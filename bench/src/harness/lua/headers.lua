-- headers(): Envoy's HeaderMapWrapper over the request or response header map (kept in Rust).
-- Object layout: { epoch, side, iterating }.
local h_get, h_at, h_num, h_add, h_replace, h_remove, h_list =
  P.h_get, P.h_at, P.h_num, P.h_add, P.h_replace, P.h_remove, P.h_list
-- The getters answer false when memory is short; the slow versions then allocate safely.
local h_get_slow, h_at_slow = P.h_get_slow, P.h_at_slow

local HM = {}
local HEADERS_MT = { __index = HM }

function H.headers(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  local side = self[2]
  local st = SIDES[side]
  local o = st.headers
  if o == nil or o[1] ~= EPOCH then
    o = setmetatable({ EPOCH, side, false }, HEADERS_MT)
    st.headers = o
  end
  return o
end

-- Envoy's checkModifiable: raises at the script line that called the method.
local function modifiable(self)
  if self[3] then error("header map cannot be modified while iterating", 3) end
  if SIDES[self[2]].continued then error("header map can no longer be modified", 3) end
end

-- get(key): every value joined with ",", or no value at all when the header is absent.
function HM.get(self, key)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  if type(key) ~= "string" then key = checkstr(key, 1, "get") end
  local v = h_get(self[2], key)
  if v == false then v = h_get_slow(self[2], key) end
  if v ~= nil then return v end
end

-- getAtIndex(key, index): the index-th value (0-based), or no value.
function HM.getAtIndex(self, key, index)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  if type(key) ~= "string" then key = checkstr(key, 1, "getAtIndex") end
  index = checkint(index, 2, "getAtIndex")
  if index < 0 then return end
  local v = h_at(self[2], key, index)
  if v == false then v = h_at_slow(self[2], key, index) end
  if v ~= nil then return v end
end

function HM.getNumValues(self, key)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  if type(key) ~= "string" then key = checkstr(key, 1, "getNumValues") end
  return h_num(self[2], key)
end

-- add(key, value): appends a value (the name is lower-cased).
function HM.add(self, key, value)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  modifiable(self)
  if type(key) ~= "string" then key = checkstr(key, 1, "add") end
  if type(value) ~= "string" then value = checkstr(value, 2, "add") end
  h_add(self[2], key, value)
end

-- replace(key, value): removes every value, then adds this one (Envoy's setCopy).
function HM.replace(self, key, value)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  modifiable(self)
  if type(key) ~= "string" then key = checkstr(key, 1, "replace") end
  if type(value) ~= "string" then value = checkstr(value, 2, "replace") end
  h_replace(self[2], key, value)
end

function HM.remove(self, key)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  modifiable(self)
  if type(key) ~= "string" then key = checkstr(key, 1, "remove") end
  h_remove(self[2], key)
end

-- The reason phrase is not part of the outcome model; checked and accepted.
function HM.setHttp1ReasonPhrase(self, phrase)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  modifiable(self)
  checkstr(phrase, 1, "setHttp1ReasonPhrase")
end

-- pairs(headers): each entry in order (a repeated header yields each value). Envoy snapshots the
-- entries; the map cannot be modified until the iteration has run to its end.
HEADERS_MT.__pairs = function(self)
  if self[1] ~= EPOCH then error(SCOPE, 3) end
  if self[3] then error("cannot create a second iterator before completing the first", 3) end
  local list = h_list(self[2])
  local n, i, epoch = #list, 0, self[1]
  self[3] = true
  return function()
    if epoch ~= EPOCH then error(SCOPE, 2) end
    if i >= n then
      self[3] = false
      return
    end
    i = i + 2
    return list[i - 1], list[i]
  end
end
