-- ops: the Lua side of the per-operation benchmarks (bench/src/perf/ops.rs). The route metadata
-- names one operation and a count N; envoy_on_request performs that operation N times through
-- Envoy's Lua API, then sets `x-bench-result` to what the last repetition produced (so tests can
-- see the operation really ran). The bench times a request with N repetitions and one with N = 0
-- and divides the difference by N. Twin of bench/guests/bench_ops (bench-only, no catalogue entry).
--
-- Lua has no JSON or regex library in Envoy: json_parse uses the pure-Lua decoder of
-- filters-lua/jwt_auth.lua (copied below unchanged), regex_match uses a Lua pattern equivalent to
-- path_regex's expression, as the filters themselves do.
-- BEGIN shared JSON decoder: the same text in every Lua file that carries it (checked by a test)
-- JSON decoder accepting exactly what serde_json::from_slice::<Value> accepts (RFC 8259, valid
-- UTF-8, no lone surrogates, nesting limit of serde_json). Values: JSON strings are Lua strings,
-- true/false are booleans, null is JSON_NULL, a number is { text } with metatable JSON_NUMBER (its
-- text as serde_json's arbitrary_precision writes it back), an array is a sequence with metatable
-- JSON_ARRAY, an object a table of its members with metatable JSON_OBJECT (a repeated key: the
-- last one wins).
local byte, sub, find, char = string.byte, string.sub, string.find, string.char
local concat = table.concat
local JSON_NULL, JSON_NUMBER, JSON_ARRAY, JSON_OBJECT = {}, {}, {}, {}
local JSON_FAIL = {}

local function json_fail()
  error(JSON_FAIL, 0)
end

-- Checks that s[i..j] is valid UTF-8 exactly as Rust's str::from_utf8 (no surrogates, no
-- overlong forms, nothing above U+10FFFF).
local function utf8_check(s, i, j)
  while i <= j do
    local c = byte(s, i)
    if c < 0x80 then
      i = i + 1
    else
      local n, lo, hi
      if c >= 0xC2 and c <= 0xDF then n, lo, hi = 1, 0x80, 0xBF
      elseif c == 0xE0 then n, lo, hi = 2, 0xA0, 0xBF
      elseif c == 0xED then n, lo, hi = 2, 0x80, 0x9F
      elseif c >= 0xE1 and c <= 0xEF then n, lo, hi = 2, 0x80, 0xBF
      elseif c == 0xF0 then n, lo, hi = 3, 0x90, 0xBF
      elseif c >= 0xF1 and c <= 0xF3 then n, lo, hi = 3, 0x80, 0xBF
      elseif c == 0xF4 then n, lo, hi = 3, 0x80, 0x8F
      else json_fail() end
      if i + n > j then json_fail() end
      local c2 = byte(s, i + 1)
      if c2 < lo or c2 > hi then json_fail() end
      for k = i + 2, i + n do
        local ck = byte(s, k)
        if ck < 0x80 or ck > 0xBF then json_fail() end
      end
      i = i + n + 1
    end
  end
end

local function utf8_char(n)
  if n < 0x80 then return char(n)
  elseif n < 0x800 then return char(0xC0 + math.floor(n / 64), 0x80 + n % 64)
  elseif n < 0x10000 then
    return char(0xE0 + math.floor(n / 4096), 0x80 + math.floor(n / 64) % 64, 0x80 + n % 64)
  end
  return char(0xF0 + math.floor(n / 262144), 0x80 + math.floor(n / 4096) % 64,
    0x80 + math.floor(n / 64) % 64, 0x80 + n % 64)
end

local simple_escapes = { [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f",
  [110] = "\n", [114] = "\r", [116] = "\t" }

local function hex4(s, i)
  local h = sub(s, i, i + 3)
  if not find(h, "^[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]$") then json_fail() end
  return tonumber(h, 16)
end

-- s[i] is the opening quote; returns the string and the index after the closing quote.
local function parse_string(s, i)
  local pos = i + 1
  local parts, np = nil, 0
  while true do
    -- Scan to the next quote, backslash or control character, noting bytes >= 0x80.
    local j, high = pos, false
    local c = byte(s, j)
    while c and c ~= 34 and c ~= 92 and c >= 32 do
      if c >= 128 then high = true end
      j = j + 1
      c = byte(s, j)
    end
    if c == nil or c < 32 then json_fail() end
    if high then utf8_check(s, pos, j - 1) end
    if c == 34 then
      if not parts then return sub(s, pos, j - 1), j + 1 end
      np = np + 1; parts[np] = sub(s, pos, j - 1)
      return concat(parts), j + 1
    end
    parts = parts or {}
    np = np + 1; parts[np] = sub(s, pos, j - 1)
    local e = byte(s, j + 1)
    local simple = simple_escapes[e]
    if simple then
      np = np + 1; parts[np] = simple
      pos = j + 2
    elseif e == 117 then
      local n = hex4(s, j + 2)
      pos = j + 6
      if n >= 0xDC00 and n <= 0xDFFF then json_fail() end
      if n >= 0xD800 and n <= 0xDBFF then
        if sub(s, pos, pos + 1) ~= "\\u" then json_fail() end
        local n2 = hex4(s, pos + 2)
        if n2 < 0xDC00 or n2 > 0xDFFF then json_fail() end
        n = (n - 0xD800) * 1024 + (n2 - 0xDC00) + 0x10000
        pos = pos + 6
      end
      np = np + 1; parts[np] = utf8_char(n)
    else
      json_fail()
    end
  end
end

local parse_value

local function skip_ws(s, i)
  local c = byte(s, i)
  while c == 32 or c == 10 or c == 13 or c == 9 do
    i = i + 1
    c = byte(s, i)
  end
  return i
end

-- Index of the first byte at or after i that is not an ASCII digit.
local function skip_digits(s, i)
  local c = byte(s, i)
  while c and c >= 48 and c <= 57 do
    i = i + 1
    c = byte(s, i)
  end
  return i
end

-- depth: serde_json's remaining depth (starts at 128, a container at 0 is refused).
function parse_value(s, i, depth)
  local c = byte(s, i)
  if c == 34 then
    return parse_string(s, i)
  elseif c == 123 then
    depth = depth - 1
    if depth == 0 then json_fail() end
    local obj = setmetatable({}, JSON_OBJECT)
    i = skip_ws(s, i + 1)
    if byte(s, i) == 125 then return obj, i + 1 end
    while true do
      if byte(s, i) ~= 34 then json_fail() end
      local key
      key, i = parse_string(s, i)
      i = skip_ws(s, i)
      if byte(s, i) ~= 58 then json_fail() end
      local v
      v, i = parse_value(s, skip_ws(s, i + 1), depth)
      obj[key] = v
      i = skip_ws(s, i)
      c = byte(s, i)
      if c == 125 then return obj, i + 1 end
      if c ~= 44 then json_fail() end
      i = skip_ws(s, i + 1)
    end
  elseif c == 91 then
    depth = depth - 1
    if depth == 0 then json_fail() end
    local arr, n = setmetatable({}, JSON_ARRAY), 0
    i = skip_ws(s, i + 1)
    if byte(s, i) == 93 then return arr, i + 1 end
    while true do
      local v
      v, i = parse_value(s, i, depth)
      n = n + 1; arr[n] = v
      i = skip_ws(s, i)
      c = byte(s, i)
      if c == 93 then return arr, i + 1 end
      if c ~= 44 then json_fail() end
      i = skip_ws(s, i + 1)
    end
  elseif c == 116 then
    if sub(s, i, i + 3) ~= "true" then json_fail() end
    return true, i + 4
  elseif c == 102 then
    if sub(s, i, i + 4) ~= "false" then json_fail() end
    return false, i + 5
  elseif c == 110 then
    if sub(s, i, i + 3) ~= "null" then json_fail() end
    return JSON_NULL, i + 4
  elseif c == 45 or (c and c >= 48 and c <= 57) then
    local j = i
    if c == 45 then j = j + 1; c = byte(s, j) end
    if c == 48 then
      j = j + 1
    elseif c and c >= 49 and c <= 57 then
      j = skip_digits(s, j)
    else
      json_fail()
    end
    if byte(s, j) == 46 then
      local k = skip_digits(s, j + 1)
      if k == j + 1 then json_fail() end
      j = k
    end
    c = byte(s, j)
    if c == 101 or c == 69 then
      -- serde_json (arbitrary_precision) writes the exponent as `e`, then its sign (`+` if none).
      local mantissa, sign = sub(s, i, j - 1), "+"
      j = j + 1
      c = byte(s, j)
      if c == 43 or c == 45 then sign = char(c); j = j + 1 end
      local k = skip_digits(s, j)
      if k == j then json_fail() end
      return setmetatable({ mantissa .. "e" .. sign .. sub(s, j, k - 1) }, JSON_NUMBER), k
    end
    return setmetatable({ sub(s, i, j - 1) }, JSON_NUMBER), j
  end
  json_fail()
end

-- Returns the decoded value, or nil when s is not a single JSON value.
local function json_decode(s)
  local ok, v, i = pcall(parse_value, s, skip_ws(s, 1), 128)
  if not ok then
    if v == JSON_FAIL then return nil end
    error(v, 0)
  end
  if skip_ws(s, i) <= #s then return nil end
  return v
end
-- END shared JSON decoder
local READ_HEADER, SET_HEADER, SET_VALUE = "x-bench-read", "x-bench-set", "set-by-ops"
local RESULT_HEADER = "x-bench-result"
-- path_regex's expression `^/api/v([0-9]+)/` as a Lua pattern.
local API_VERSION = "^/api/v([0-9]+)/"
-- The varying tail of string_concat: a different operand each repetition keeps LuaJIT from
-- hoisting a loop-invariant concatenation out of the loop (the Wasm twin does the same).
local VARIANTS = { "1", "22", "333", "4444" }

-- The configuration, read from the route metadata on the first request (it never changes).
local op, n, doc

local function perform(headers)
  if op == "header_read" then
    local last
    for _ = 1, n do last = headers:get(READ_HEADER) end
    return last or "none"
  elseif op == "header_set" then
    for _ = 1, n do headers:replace(SET_HEADER, SET_VALUE) end
    if n == 0 then return "none" end
    return "set " .. n
  elseif op == "json_parse" then
    local last
    for _ = 1, n do last = json_decode(doc) end
    if last == nil then return n == 0 and "none" or "invalid" end
    return type(last.sub) == "string" and last.sub or "no sub"
  elseif op == "regex_match" then
    local path = headers:get(":path")
    local last
    for _ = 1, n do last = path:match(API_VERSION) end
    return last or "none"
  elseif op == "string_concat" then
    local path = headers:get(":path")
    local last
    for i = 1, n do last = path .. "?v=" .. VARIANTS[i % 4 + 1] end
    return last or "none"
  end
  error("ops: unknown op " .. tostring(op))
end

function envoy_on_request(request_handle)
  if op == nil then
    local metadata = request_handle:metadata()
    op, n, doc = metadata:get("op"), metadata:get("n"), metadata:get("json") or ""
  end
  local headers = request_handle:headers()
  headers:replace(RESULT_HEADER, perform(headers))
end
