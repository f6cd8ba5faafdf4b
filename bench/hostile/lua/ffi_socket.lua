-- Hostile: opens a socket through LuaJIT's ffi.
function envoy_on_request(handle)
  local ffi = require("ffi")
  ffi.cdef("int socket(int domain, int type, int protocol);")
  handle:headers():add("x-fd", tostring(ffi.C.socket(2, 1, 0)))
end
