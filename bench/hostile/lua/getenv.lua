-- Hostile: reads the process environment (tokens, keys) into a header.
function envoy_on_request(handle)
  handle:headers():add("x-home", tostring(os.getenv("HOME")))
end
