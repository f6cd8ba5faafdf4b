-- Hostile: loops forever.
function envoy_on_request(handle)
  while true do end
end
