-- passthrough: a Lua filter that does nothing. Both callbacks exist and return at once, so a
-- request through it costs exactly what the host does around a script: the in-process harness's
-- baseline. Twin of bench/guests/bench_passthrough (bench-only, no catalogue entry).

function envoy_on_request(request_handle)
end

function envoy_on_response(response_handle)
end
