-- Hostile: runs a command and reads its output.
function envoy_on_request(handle)
  local p = io.popen("id")
  handle:headers():add("x-id", p:read("*l"))
end
