-- Hostile: loads a C function from a shared library.
function envoy_on_request(handle)
  local system = package.loadlib("libc.so.6", "system")
  system("touch /tmp/filterbench-hostile-ran")
end
