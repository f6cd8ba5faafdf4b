-- Hostile: a string pattern that backtracks (five `.-` against 5000 bytes with no `b`: some
-- 10^16 steps) inside LuaJIT's C matcher, where the instruction budget's hook never runs.
function envoy_on_request(handle)
  local s = string.rep("a", 5000)
  handle:headers():add("x-found", tostring(string.find(s, ".-.-.-.-.-b")))
end
