//! path_log: logs `path_log: <:path>` (query string included) at info level; traffic is not
//! changed. The log goes straight to the host (`proxy_log`), so the SDK's log level filter does
//! not apply to it.
//! Wasm twin of `filters-lua/path_log.lua`; behaviour contract in `bench/catalogue.toml`.

use filterbench_twin_common::StatelessRoot;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(StatelessRoot(|| Box::new(PathLog)))
    });
}}

struct PathLog;

impl Context for PathLog {}

impl HttpContext for PathLog {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // `:path` is a single pseudo-header; the bytes getter never panics on non-UTF-8 input.
        let path = self
            .get_http_request_header_bytes(":path")
            .unwrap_or_default();
        let message = format!("path_log: {}", String::from_utf8_lossy(&path));
        let _ = hostcalls::log(LogLevel::Info, &message);
        Action::Continue
    }
}
