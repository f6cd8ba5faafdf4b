//! header_auth: a request passes only when the value of header `allow` is exactly `true`
//! (case-sensitive; a repeated header joins to `true,true` and is refused); anything else
//! (missing, empty, other value) gets a local 403 `Forbidden`.
//! Wasm twin of `filters-lua/header_auth.lua`; behaviour contract in `bench/catalogue.toml`.

use filterbench_twin_common::{joined_header, StatelessRoot};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(StatelessRoot(|| Box::new(HeaderAuth)))
    });
}}

struct HeaderAuth;

impl Context for HeaderAuth {}

impl HttpContext for HeaderAuth {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_request_headers_bytes();
        if joined_header(&headers, "allow").as_deref() == Some(b"true".as_slice()) {
            return Action::Continue;
        }
        self.send_http_response(
            403,
            vec![("content-type", "text/plain")],
            Some(b"Forbidden"),
        );
        Action::Pause
    }
}
