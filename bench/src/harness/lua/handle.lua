-- The stream handle core of Envoy's Lua filter API, run once per Lua state before the script.
-- This chunk and the parts after it (headers, body, http_call, metadata, stream_info, misc,
-- stdlib, sandbox, driver) form one function sharing these locals; it returns the driver (see the end of
-- driver.lua). Nothing here leaks into the script's globals except what Envoy defines.
--
-- Scope model (Envoy's LuaDeathRef/markDead): a stream handle is live only while its callback
-- runs; every object it hands out (headers, body, metadata, streamInfo, ...) is valid only
-- until the next yield (body(), httpCall(), ...) or the end of the callback. Handles carry
-- their id in [1] (compared with LIVE), child objects the epoch they were made in (compared
-- with EPOCH). Using a dead one raises "object used outside of proper scope" at the caller.
local P, STRUCT_MT, LIST_MT, NULL, CONFIG, BUDGETED = ...

local type, tostring, tonumber, select, error, setmetatable, getmetatable, next, rawget =
  type, tostring, tonumber, select, error, setmetatable, getmetatable, next, rawget
local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local floor, format, sub = math.floor, string.format, string.sub
local p_wait, p_script_error, p_upstream = P.wait, P.script_error, P.upstream

local SCOPE = "object used outside of proper scope"
local LIVE = 0 -- id of the handle whose callback runs, 0 when none
local LAST_ID = 0
local EPOCH = 0 -- bumped at every yield and at the end of every callback
local WAIT, DONE, RESPONDED = {}, {}, {} -- private yield tokens
local WAIT_BODY, WAIT_STREAM, WAIT_CALL = 1, 2, 3 -- kinds of wait, for P.wait

-- Per side (0 = request / decoder, 1 = response / encoder) stream state, reset per callback.
local SIDES = { [0] = {}, [1] = {} }

-- The stream's dynamic metadata (namespace -> STRUCT value), shared by both callbacks of a stream.
local DYN

local H = {} -- stream handle methods
local HANDLE_MT = { __index = H }

-- Argument checks that raise like luaL_check*: the message names the argument as seen by a
-- method call (self not counted) and points at the script line that called the method.
local function checkstr(v, n, fname)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  error(format("bad argument #%d to '%s' (string expected, got %s)", n, fname, t), 3)
end

local function checknum(v, n, fname)
  local x = tonumber(v)
  if x == nil then
    error(format("bad argument #%d to '%s' (number expected, got %s)", n, fname, type(v)), 3)
  end
  return x
end

-- luaL_checkint: a number truncated toward zero.
local function checkint(v, n, fname)
  local x = tonumber(v)
  if x == nil then
    error(format("bad argument #%d to '%s' (number expected, got %s)", n, fname, type(v)), 3)
  end
  if x >= 0 then return floor(x) end
  return -floor(-x)
end

local function checktable(v, n, fname)
  if type(v) ~= "table" then
    error(format("bad argument #%d to '%s' (table expected, got %s)", n, fname, type(v)), 3)
  end
  return v
end

-- Makes a child object of the live handle, valid until the next yield.
local function child(mt, side)
  return setmetatable({ EPOCH, side }, mt)
end

-- Runs one callback of the script as a coroutine, like Envoy's StreamHandleWrapper::start.
-- Finished coroutines are reused (a loop that yields DONE between callbacks) to save the
-- allocation of a new one per callback. Returns true when the run must stop (budget or memory).
local function trampoline(fn, h)
  while true do
    fn(h)
    fn, h = co_yield(DONE)
  end
end
local spare

local function run_callback(fn, side, has_body)
  LAST_ID = LAST_ID + 1
  LIVE = LAST_ID
  EPOCH = EPOCH + 1
  local st = SIDES[side]
  st.end_stream = not has_body
  st.saw_body = false
  st.buffered = false
  st.has_buffer = false
  st.continued = false
  st.keys = nil
  local co = spare
  if co ~= nil then spare = nil else co = co_create(trampoline) end
  local ok, what = co_resume(co, fn, setmetatable({ LIVE, side }, HANDLE_MT))
  while ok and what == WAIT do
    EPOCH = EPOCH + 1
    ok, what = co_resume(co)
  end
  LIVE = 0
  EPOCH = EPOCH + 1
  if ok then
    if what == DONE then
      spare = co
      return false
    elseif what == RESPONDED then
      return false
    end
    return p_script_error("script performed an unexpected yield")
  end
  return p_script_error(what)
end

-- Suspends the running callback the way Envoy does while it waits for the body, the trailers or
-- an http call; the driver bumps EPOCH (killing child objects) and resumes at once.
local function wait(side, kind)
  p_wait(side, kind)
  co_yield(WAIT)
end

-- respond(headers, body): a local reply; ends the callback (Envoy yields and never resumes).
local p_respond = P.respond
function H.respond(self, headers, body)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  local side = self[2]
  if SIDES[side].continued then
    error("respond() cannot be called if headers have been continued", 2)
  end
  checktable(headers, 1, "respond")
  if body ~= nil and type(body) ~= "string" then body = checkstr(body, 2, "respond") end
  local err = p_respond(side, headers, body)
  if err ~= nil then error(err, 2) end
  co_yield(RESPONDED)
end
