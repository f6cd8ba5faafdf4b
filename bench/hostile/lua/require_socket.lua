-- Hostile: loads a networking module from the machine's package path.
local socket = require("socket")
function envoy_on_request(handle)
  socket.connect("127.0.0.1", 22)
end
