-- jwt_auth: validates an HS256 JWT bearer token (signature with the `secret` config, `exp` against
-- Envoy's clock) and forwards its `sub` as `x-user-id`; 401 `Missing Authorization` or
-- `Invalid Token` otherwise. Self-contained: carries its own JSON decoder, base64url, SHA-256/HMAC.
-- Lua twin of filters-wasm/jwt_auth; behaviour contract in bench/catalogue.toml.
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
-- base64url without padding (RFC 4648 section 5), strict: only A-Z a-z 0-9 - _, no '=', no
-- length of 4n+1, and the unused low bits of the last character must be zero (canonical form).
local B64URL = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  for i = 1, 64 do B64URL[alphabet:byte(i)] = i - 1 end
end

local function b64url_decode(s)
  local len = #s
  if len % 4 == 1 or s:find("[^A-Za-z0-9_-]") then return nil end
  local floor = math.floor
  local out, n = {}, 0
  local full = len - len % 4
  for i = 1, full, 4 do
    local a, b, c, d = byte(s, i, i + 3)
    local v = ((B64URL[a] * 64 + B64URL[b]) * 64 + B64URL[c]) * 64 + B64URL[d]
    n = n + 1
    out[n] = char(floor(v / 65536), floor(v / 256) % 256, v % 256)
  end
  local rest = len - full
  if rest == 2 then
    local a, b = byte(s, full + 1, full + 2)
    local v = B64URL[a] * 64 + B64URL[b]
    if v % 16 ~= 0 then return nil end
    n = n + 1
    out[n] = char(v / 16)
  elseif rest == 3 then
    local a, b, c = byte(s, full + 1, full + 3)
    local v = (B64URL[a] * 64 + B64URL[b]) * 64 + B64URL[c]
    if v % 4 ~= 0 then return nil end
    v = v / 4
    n = n + 1
    out[n] = char(floor(v / 256), v % 256)
  end
  return table.concat(out)
end

-- SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) on LuaJIT's `bit` library.
local bit = bit
local band, bxor, bnot = bit.band, bit.bxor, bit.bnot
local rshift, ror, tobit = bit.rshift, bit.ror, bit.tobit

local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
for i = 1, 64 do K[i] = tobit(K[i]) end

local function sha256(msg)
  local len = #msg
  -- Padding: 0x80, zeros, then the bit length as a 64-bit big-endian integer.
  local bits = len * 8
  local hi = math.floor(bits / 4294967296)
  local lo = bits % 4294967296
  msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64)
    .. string.char(math.floor(hi / 16777216) % 256, math.floor(hi / 65536) % 256,
      math.floor(hi / 256) % 256, hi % 256, math.floor(lo / 16777216) % 256,
      math.floor(lo / 65536) % 256, math.floor(lo / 256) % 256, lo % 256)
  local h0, h1, h2, h3 = tobit(0x6a09e667), tobit(0xbb67ae85), tobit(0x3c6ef372), tobit(0xa54ff53a)
  local h4, h5, h6, h7 = tobit(0x510e527f), tobit(0x9b05688c), tobit(0x1f83d9ab), tobit(0x5be0cd19)
  local w = {}
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do
      local b1, b2, b3, b4 = string.byte(msg, chunk + i * 4, chunk + i * 4 + 3)
      w[i] = tobit(((b1 * 256 + b2) * 256 + b3) * 256 + b4)
    end
    for i = 16, 63 do
      local x, y = w[i - 15], w[i - 2]
      local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))
      local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))
      w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
    end
    local a, b, c, d, e, f, g, h = h0, h1, h2, h3, h4, h5, h6, h7
    for i = 0, 63 do
      local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
      local ch = bxor(band(e, f), band(bnot(e), g))
      local t1 = h + S1 + ch + K[i + 1] + w[i]
      local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
      local maj = bxor(band(a, b), band(a, c), band(b, c))
      h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + S0 + maj)
    end
    h0, h1, h2, h3 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d)
    h4, h5, h6, h7 = tobit(h4 + e), tobit(h5 + f), tobit(h6 + g), tobit(h7 + h)
  end
  local out = {}
  for i, v in ipairs({ h0, h1, h2, h3, h4, h5, h6, h7 }) do
    out[i] = string.char(band(rshift(v, 24), 255), band(rshift(v, 16), 255),
      band(rshift(v, 8), 255), band(v, 255))
  end
  return table.concat(out)
end

-- The padded key blocks of the last secret seen (the secret is route configuration).
local cached_secret, cached_ipad, cached_opad

local function hmac_sha256_cached(secret, msg)
  if secret ~= cached_secret then
    local key = secret
    if #key > 64 then key = sha256(key) end
    key = key .. string.rep("\0", 64 - #key)
    cached_ipad = key:gsub(".", function(c) return string.char(bxor(c:byte(), 0x36)) end)
    cached_opad = key:gsub(".", function(c) return string.char(bxor(c:byte(), 0x5c)) end)
    cached_secret = secret
  end
  return sha256(cached_opad .. sha256(cached_ipad .. msg))
end

-- Returns the token's `sub` when the authorization value carries a valid token, else nil.
local function verify(authorization, secret, now)
  local part1, part2, part3 = authorization:match("^Bearer ([^.]*)%.([^.]*)%.([^.]*)$")
  if part1 == nil then return nil end
  local header_json, payload_json = b64url_decode(part1), b64url_decode(part2)
  local signature = b64url_decode(part3)
  if header_json == nil or payload_json == nil or signature == nil then return nil end
  local header = json_decode(header_json)
  if getmetatable(header) ~= JSON_OBJECT or header.alg ~= "HS256" then return nil end
  if hmac_sha256_cached(secret, part1 .. "." .. part2) ~= signature then return nil end
  local payload = json_decode(payload_json)
  if getmetatable(payload) ~= JSON_OBJECT or type(payload.sub) ~= "string" then return nil end
  local exp = payload.exp
  if exp ~= nil then
    if getmetatable(exp) ~= JSON_NUMBER then return nil end
    -- A number that overflows a double (1e400) is refused, as serde_json's as_f64 does.
    exp = tonumber(exp[1])
    if exp == math.huge or exp == -math.huge or now >= exp then return nil end
  end
  return payload.sub
end

local function unauthorized(request_handle, body)
  request_handle:respond({ [":status"] = "401", ["content-type"] = "text/plain" }, body)
end

function envoy_on_request(request_handle)
  local secret = request_handle:metadata():get("secret")
  if secret == nil then
    error("jwt_auth: missing metadata key secret")
  end
  local headers = request_handle:headers()
  local authorization = headers:get("authorization")
  if authorization == nil or authorization == "" then
    unauthorized(request_handle, "Missing Authorization")
    return
  end
  local subject = verify(authorization, secret, math.floor(request_handle:timestamp() / 1000))
  if subject == nil then
    unauthorized(request_handle, "Invalid Token")
    return
  end
  headers:replace("x-user-id", subject)
end
