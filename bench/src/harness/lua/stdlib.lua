-- The standard library as the bench needs it: luaL_openlibs as Envoy opens it, with the clock
-- and randomness following env.clock and env.random so tests can pin them:
--   os.time()        -> whole seconds of env.clock (os.time(table) is unchanged);
--   os.clock()       -> seconds of env.clock since this Lua state was made;
--   os.date(f)       -> formats os.time() when no time is given;
--   math.random(...) -> draws from env.random (same ranges and argument rules as LuaJIT);
--   math.randomseed  -> accepted and ignored: the sequence is env.random's.
-- Envoy builds LuaJIT with LUAJIT_ENABLE_LUA52COMPAT, so pairs/ipairs honour __pairs/__ipairs
-- (that is how `pairs(headers)` works); when this LuaJIT lacks it, they are emulated here.
local p_now_s, p_clock_s, p_random = P.now_s, P.clock_s, P.random

local os_time, os_date = os.time, os.date
os.time = function(t)
  if t == nil then return p_now_s() end
  return os_time(t)
end
os.clock = function()
  return p_clock_s()
end
os.date = function(fmt, t)
  if t == nil then t = p_now_s() end
  return os_date(fmt == nil and "%c" or fmt, t)
end

math.random = function(...)
  local n = select("#", ...)
  local d = p_random()
  if n == 0 then return d end
  local r1 = tonumber((...))
  if r1 == nil then
    error(format("bad argument #1 to 'random' (number expected, got %s)", type((...))), 2)
  end
  if n == 1 then return floor(d * r1) + 1 end
  local r2 = tonumber((select(2, ...)))
  if r2 == nil then
    error(format("bad argument #2 to 'random' (number expected, got %s)", type((select(2, ...)))), 2)
  end
  return floor(d * (r2 - r1 + 1)) + r1
end
math.randomseed = function() end

-- print: Envoy's Lua writes it to Envoy's own stdout, which is not part of any outcome. Here
-- stdout carries the run's results (`filterbench run` prints JSON there), so print goes to
-- stderr through P.print, named after the filter and capped (see stdlib.rs).
local p_print, tostring, select, concat = P.print, tostring, select, table.concat
print = function(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  p_print(concat(parts, "\t"))
end

if table.pack == nil then
  local getmetatable_raw = debug.getmetatable
  pairs = function(t)
    local mt = getmetatable_raw(t)
    if mt ~= nil then
      local f = rawget(mt, "__pairs")
      if f ~= nil then return f(t) end
    end
    if type(t) ~= "table" then
      error(format("bad argument #1 to 'pairs' (table expected, got %s)", type(t)), 2)
    end
    return next, t, nil
  end
  local raw_ipairs = ipairs
  ipairs = function(t)
    local mt = getmetatable_raw(t)
    if mt ~= nil then
      local f = rawget(mt, "__ipairs")
      if f ~= nil then return f(t) end
    end
    if type(t) ~= "table" then
      error(format("bad argument #1 to 'ipairs' (table expected, got %s)", type(t)), 2)
    end
    return raw_ipairs(t)
  end
end

EnvoyTimestampResolution = { MILLISECOND = 0, MICROSECOND = 1 }

-- With an instruction budget the interpreter runs alone: LuaJIT's compiled traces never call
-- the count hook, so a hot endless loop would escape the budget. jit.on() is then a no-op.
if BUDGETED and jit ~= nil then
  jit.off()
  jit.flush()
  jit.on = function() end
end
