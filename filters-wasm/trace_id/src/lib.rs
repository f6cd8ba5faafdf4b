//! trace_id: keeps a non-empty request `x-trace-id` (a repeated header keeps all of its values;
//! the joined value is what is copied) or sets it to 32 random lowercase hex characters when it is
//! missing or empty; the response gets `x-trace-id` set to the request's value.
//! Wasm twin of `filters-lua/trace_id.lua`; behaviour contract in `bench/catalogue.toml`.

use std::time::UNIX_EPOCH;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(TraceIdRoot) });
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

/// 32 random lowercase hex characters (16 bytes from WASI `random_get`). Should the host refuse
/// randomness, a splitmix64 stream seeded from `seed` (the clock) and a per-VM counter is used.
fn random_hex(seed: u64) -> String {
    use std::cell::Cell;
    use std::fmt::Write;

    thread_local!(static COUNTER: Cell<u64> = const { Cell::new(0) });
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        let mut state = seed
            ^ COUNTER.with(|c| {
                c.set(c.get().wrapping_add(1));
                c.get().wrapping_mul(0xD1B5_4A32_D192_ED03)
            });
        for chunk in bytes.chunks_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
    let mut hex = String::with_capacity(32);
    for byte in bytes {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

struct TraceIdRoot;

impl Context for TraceIdRoot {}

impl RootContext for TraceIdRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(TraceId { trace_id: None }))
    }
}

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
