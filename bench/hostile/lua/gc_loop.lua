-- Hostile: a finalizer that never returns, run by the garbage collector.
KEEP = newproxy(true)
getmetatable(KEEP).__gc = function() while true do end end
function envoy_on_request(handle)
  KEEP = nil
  collectgarbage()
  collectgarbage()
end
