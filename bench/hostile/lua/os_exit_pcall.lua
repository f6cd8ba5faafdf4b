-- Hostile: ends the process, hiding the error with pcall.
function envoy_on_request(handle)
  pcall(os.exit, 0)
end
