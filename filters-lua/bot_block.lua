-- bot_block: 403 Forbidden when the user-agent contains `bot` in any ASCII letter case.
-- Lua twin of filters-wasm/bot_block; behaviour contract in bench/catalogue.toml.

function envoy_on_request(request_handle)
  local user_agent = request_handle:headers():get("user-agent")
  -- The character classes fold only A-Z (string.lower would depend on the C locale).
  if user_agent and user_agent:find("[bB][oO][tT]") then
    request_handle:respond({ [":status"] = "403", ["content-type"] = "text/plain" }, "Forbidden")
  end
end
