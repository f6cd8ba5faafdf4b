-- Hostile: ends the process from a request (Envoy's Lua state has os.exit).
function envoy_on_request(handle)
  os.exit(0)
end
