-- Hostile: runs a command (it would create /tmp/filterbench-hostile-ran).
function envoy_on_request(handle)
  os.execute("touch /tmp/filterbench-hostile-ran")
end
