-- The driver: one call per exchange. The request callback runs, Rust decides what happens next
-- (P.upstream: the upstream's reply, or the local reply respond() stored), the response callback
-- runs. Returns nothing; Rust reads the outcome from its own state.
local on_request, on_response

local function run(request_has_body)
  DYN = nil
  if on_request ~= nil and run_callback(on_request, 0, request_has_body) then return end
  local response_has_body = p_upstream()
  if on_response ~= nil then run_callback(on_response, 1, response_has_body) end
end

-- Called once the script has run: Envoy takes references to the two globals at load time.
return function(request_fn, response_fn)
  on_request, on_response = request_fn, response_fn
  return run
end
