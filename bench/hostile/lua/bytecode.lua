-- Hostile: loads a binary chunk (LuaJIT does not verify bytecode; a crafted one corrupts memory).
function envoy_on_request(handle)
  local f = loadstring(string.dump(function() return 1 end))
  handle:headers():add("x-ran", tostring(f()))
end
