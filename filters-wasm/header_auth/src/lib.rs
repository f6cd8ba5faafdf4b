//! header_auth: a request passes only when the value of header `allow` is exactly `true`
//! (case-sensitive; a repeated header joins to `true,true` and is refused); anything else
//! (missing, empty, other value) gets a local 403 `Forbidden`.
//! Wasm twin of `filters-lua/header_auth.lua`; behaviour contract in `bench/catalogue.toml`.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(HeaderAuthRoot) });
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

struct HeaderAuthRoot;

impl Context for HeaderAuthRoot {}

impl RootContext for HeaderAuthRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(HeaderAuth))
    }
}

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
