-- Hostile: removes any instruction hook, then loops forever.
function envoy_on_request(handle)
  pcall(debug.sethook)
  while true do end
end
