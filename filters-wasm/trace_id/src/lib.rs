//! trace_id: keeps a non-empty request `x-trace-id` (a repeated header keeps all of its values;
//! the joined value is what is copied) or sets it to 32 random lowercase hex characters when it is
//! missing or empty; the response gets `x-trace-id` set to the request's value.
//! Wasm twin of `filters-lua/trace_id.lua`; behaviour contract in `bench/catalogue.toml`.

use std::time::UNIX_EPOCH;

use filterbench_twin_common::{joined_header, random_hex, StatelessRoot};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(StatelessRoot(|| Box::new(TraceId { trace_id: None })))
    });
}}

struct TraceId {
    /// The request's (kept or generated) value, copied onto the response.
    trace_id: Option<Vec<u8>>,
}

impl Context for TraceId {}

impl HttpContext for TraceId {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_request_headers_bytes();
        let trace_id = match joined_header(&headers, "x-trace-id") {
            Some(value) if !value.is_empty() => value,
            _ => {
                let nanos = self
                    .get_current_time()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                let generated = random_hex(nanos);
                self.set_http_request_header("x-trace-id", Some(&generated));
                generated.into_bytes()
            }
        };
        self.trace_id = Some(trace_id);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(trace_id) = &self.trace_id {
            self.set_http_response_header_bytes("x-trace-id", Some(trace_id));
        }
        Action::Continue
    }
}
