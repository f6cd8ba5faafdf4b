-- Hostile: doubles a string until memory runs out.
function envoy_on_request(handle)
  local s = "x"
  while true do s = s .. s end
end
