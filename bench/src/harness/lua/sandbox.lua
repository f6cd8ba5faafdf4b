-- The harness's sandbox (see sandbox.rs): the standard library a filter keeps, and the parts
-- that would reach outside the Lua state, which raise instead. Run after stdlib.lua (which took
-- what it needs first) and before the script. Tables are changed in place, so `require("os")`
-- and `os` are the same sanitised table.
local p_forbid = P.forbid
local getinfo = debug.getinfo
local raw_load, raw_loadstring = load, loadstring

-- A function that fails the run: P.forbid records the use (the run then stops with a
-- "forbidden" error naming the filter and phase, even if the script catches this one with
-- pcall) and returns the message, which is raised at the script's line.
local function raise(what, level)
  local i = getinfo(level + 1, "Sl")
  local where = ""
  if i ~= nil and i.currentline ~= nil and i.currentline > 0 then
    where = i.short_src .. ":" .. i.currentline .. ": "
  end
  error(where .. p_forbid(what), 0)
end

local function forbidden(what)
  return function() raise(what, 2) end
end

-- os: the clock and dates stay (stdlib.lua points them at env.clock); the process, the files and
-- the environment are out of reach.
for _, name in ipairs({ "exit", "execute", "remove", "rename", "tmpname", "getenv", "setlocale" }) do
  os[name] = forbidden("os." .. name)
end

-- io: every member raises (files, pipes, stdin/stdout).
local io_table = setmetatable({}, {
  __index = function(_, k) return forbidden("io." .. tostring(k)) end,
  __newindex = function() end,
})
io = io_table

-- debug: traceback and getinfo stay; the hook (the instruction budget), the registry, locals
-- and upvalues of the harness's own functions are out of reach.
for _, name in ipairs({ "sethook", "gethook", "getregistry", "getupvalue", "setupvalue",
                        "upvalueid", "upvaluejoin", "getlocal", "setlocal", "getmetatable",
                        "setmetatable", "getfenv", "setfenv", "debug" }) do
  if debug[name] ~= nil then debug[name] = forbidden("debug." .. name) end
end

-- Files and native code: no dofile/loadfile, no binary chunks (LuaJIT does not verify bytecode:
-- a crafted chunk can corrupt the harness's memory).
dofile = forbidden("dofile")
loadfile = forbidden("loadfile")
load = function(chunk, name, mode, env)
  if type(chunk) == "string" and chunk:byte(1) == 27 then raise("load of a binary chunk", 2) end
  return raw_load(chunk, name, "t", env)
end
loadstring = function(s, name)
  if type(s) == "string" and s:byte(1) == 27 then raise("loadstring of a binary chunk", 2) end
  return raw_loadstring(s, name)
end

-- newproxy with a metatable: its __gc would run with hooks off (LuaJIT disables them during
-- finalizers), out of the instruction budget's reach. A plain proxy stays.
local raw_newproxy = newproxy
if raw_newproxy ~= nil then
  newproxy = function(mt)
    if mt then raise("newproxy with a metatable", 2) end
    return raw_newproxy(false)
  end
end

-- require: the libraries already open; nothing is loaded from files (Lua or C).
local modules = {
  string = string, table = table, math = math, os = os, io = io_table, debug = debug,
  coroutine = coroutine, bit = bit, jit = jit, _G = _G,
}
local searched = forbidden("package.loadlib")
package = { loaded = modules, preload = {}, loadlib = searched, path = "", cpath = "",
            loaders = {}, searchers = {}, seeall = forbidden("package.seeall") }
modules.package = package
require = function(name)
  local m = modules[name]
  if m ~= nil then return m end
  local f = package.preload[name]
  if type(f) == "function" then
    m = f(name)
    modules[name] = m == nil and true or m
    return modules[name]
  end
  raise("require(\"" .. tostring(name) .. "\")", 2)
end
module = forbidden("module")
