//! bot_block: a request whose `user-agent` value contains `bot` after ASCII lower-casing (only
//! A-Z are folded, other bytes compared as they are) gets a local 403 `Forbidden`; a missing or
//! empty user-agent passes.
//! Wasm twin of `filters-lua/bot_block.lua`; behaviour contract in `bench/catalogue.toml`.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(BotBlockRoot) });
}}

/// The value of header `name` as Envoy's Lua `headers():get()` returns it: `None` when absent,
/// otherwise every value joined with "," in arrival order. (Envoy's proxy-wasm single-header
/// getter returns only the first value, and the String variants panic on non-UTF-8 bytes.)
fn joined_header(headers: &[(String, Vec<u8>)], name: &str) -> Option<Vec<u8>> {
    let mut values = headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value);
    let mut joined = values.next()?.clone();
    for value in values {
        joined.push(b',');
        joined.extend_from_slice(value);
    }
    Some(joined)
}

fn contains_bot(value: &[u8]) -> bool {
    value.windows(3).any(|w| w.eq_ignore_ascii_case(b"bot"))
}

struct BotBlockRoot;

impl Context for BotBlockRoot {}

impl RootContext for BotBlockRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(BotBlock))
    }
}

struct BotBlock;

impl Context for BotBlock {}

impl HttpContext for BotBlock {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_request_headers_bytes();
        match joined_header(&headers, "user-agent") {
            Some(agent) if contains_bot(&agent) => {
                self.send_http_response(
                    403,
                    vec![("content-type", "text/plain")],
                    Some(b"Forbidden"),
                );
                Action::Pause
            }
            _ => Action::Continue,
        }
    }
}
