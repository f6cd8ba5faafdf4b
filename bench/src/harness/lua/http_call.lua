-- httpCall(cluster, headers, body, timeout_ms | options, asynchronous): an outgoing call through
-- env.responder, answered as Envoy's async client would (envoy::call_response). Synchronous calls
-- wait (killing child objects, as a yield does) and return the reply's headers table (with
-- ":status") and body (nil when empty); asynchronous ones return nothing. Argument checks and the
-- call itself are in Rust (http_call.rs); errors are raised here, at the caller's line.
local p_http_call = P.http_call

function H.httpCall(self, ...)
  if self[1] ~= LIVE then error(SCOPE, 2) end
  local side = self[2]
  local r, a, b = p_http_call(side, select("#", ...), ...)
  if r == 0 then error(a, 2) end
  if r == 1 then return end
  wait(side, WAIT_CALL)
  return a, b
end
