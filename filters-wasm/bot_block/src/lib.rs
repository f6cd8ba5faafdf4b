//! bot_block: a request whose `user-agent` value contains `bot` after ASCII lower-casing (only
//! A-Z are folded, other bytes compared as they are) gets a local 403 `Forbidden`; a missing or
//! empty user-agent passes.
//! Wasm twin of `filters-lua/bot_block.lua`; behaviour contract in `bench/catalogue.toml`.

use filterbench_twin_common::{joined_header, StatelessRoot};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(StatelessRoot(|| Box::new(BotBlock)))
    });
}}

fn contains_bot(value: &[u8]) -> bool {
    value.windows(3).any(|w| w.eq_ignore_ascii_case(b"bot"))
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
