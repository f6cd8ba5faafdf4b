-- body(), bodyChunks(), trailers() and Envoy's BufferWrapper (length, getBytes, setBytes) over
-- the request or response body (kept in Rust). The model is HTTP/1.1 as the bench's listener
-- serves it: a body arrives as one chunk with end of stream, there are never trailers.
-- Buffer object layout: { epoch, side }.
local b_len, b_get, b_set, b_get_slow = P.b_len, P.b_get, P.b_set, P.b_get_slow

local BM = {}
local BUFFER_MT = { __index = BM }

-- body(always_wrap_body): buffers the whole body (yielding until it has arrived, as Envoy does
-- when the headers did not end the stream) and returns it; no value when there is none, unless
-- always_wrap_body asks for an empty buffer.
function H.body(self, ...)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  local always_wrap = false
  if select("#", ...) >= 1 then
    always_wrap = ...
    if type(always_wrap) ~= "boolean" then
      error(format("bad argument #1 to 'body' (boolean expected, got %s)", type(always_wrap)), 2)
    end
  end
  local side = self[2]
  local st = SIDES[side]
  if not st.end_stream then
    if st.saw_body then error("cannot call body() after body streaming has started", 2) end
    st.buffered = true
    wait(side, WAIT_BODY)
    st.saw_body = true
    st.end_stream = true
    st.has_buffer = true
  elseif st.saw_body and not st.buffered then
    error("cannot call body() after body has been streamed", 2)
  end
  local o = st.body
  if o ~= nil and o[1] == EPOCH then return o end
  if not st.has_buffer then
    if not always_wrap then return end
    st.has_buffer = true -- Envoy adds an empty buffered body
  end
  o = child(BUFFER_MT, side)
  st.body = o
  return o
end

-- bodyChunks(): an iterator over the body as it streams (one chunk here). Waiting for a chunk
-- lets the headers continue, as in Envoy.
function H.bodyChunks(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  local side = self[2]
  local st = SIDES[side]
  if st.saw_body then error("cannot call bodyChunks after body processing has begun", 2) end
  local id = self[1]
  return function()
    if id ~= LIVE then error(SCOPE, 2) end
    if st.end_stream then return end
    st.continued = true
    wait(side, WAIT_STREAM)
    st.saw_body = true
    st.end_stream = true
    return child(BUFFER_MT, side)
  end
end

-- trailers(): no value at the end of the stream (HTTP/1.1 here has no trailers); while a body is
-- still to come it waits for the end of the stream first, letting headers and body pass.
function H.trailers(self)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  local side = self[2]
  local st = SIDES[side]
  if st.end_stream then return end
  st.continued = true
  wait(side, WAIT_STREAM)
  st.saw_body = true
  st.end_stream = true
end

function BM.length(self)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  return b_len(self[2])
end

function BM.getBytes(self, index, length)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  index = checkint(index, 1, "getBytes")
  length = checkint(length, 2, "getBytes")
  local side = self[2]
  if index < 0 or length < 0 or index + length > b_len(side) then
    error("index/length must be >= 0 and (index + length) must be <= buffer size", 2)
  end
  local bytes = b_get(side, index, length)
  if bytes == false then bytes = b_get_slow(side, index, length) end
  return bytes
end

-- setBytes(bytes): replaces the whole buffer and sets content-length; returns the new length.
function BM.setBytes(self, bytes)
  if self[1] ~= EPOCH then error(SCOPE, 2) end
  if type(bytes) ~= "string" then bytes = checkstr(bytes, 1, "setBytes") end
  return b_set(self[2], bytes)
end
