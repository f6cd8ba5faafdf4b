//! rate_limit: fixed-window limit of `requests_per_window` requests per `window_seconds` per
//! client. The client key is the first `,`-separated entry of `x-forwarded-for` (spaces and tabs
//! trimmed), `unknown` when missing or empty. A client's window starts at its first request (whole
//! seconds of Envoy's clock); a request at t with t - t0 >= window_seconds starts a new window.
//! Every request counts; past the limit a local 429 `Rate limit exceeded` with
//! `x-rate-limit-exceeded: true`, otherwise the response gets `x-rate-limit-remaining`.
//! State lives in the VM (one per worker), as in Envoy's Lua.
//! Configuration: `{"requests_per_window": <integer>, "window_seconds": <integer>}`.
//! Wasm twin of `filters-lua/rate_limit.lua`; behaviour contract in `bench/catalogue.toml`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::UNIX_EPOCH;

use filterbench_twin_common::{joined_header, parse_config};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(RateLimitRoot {
            config: Config { requests_per_window: 0, window_seconds: 0 },
            windows: Rc::new(RefCell::new(HashMap::new())),
        })
    });
}}

#[derive(Clone, Copy, Deserialize)]
struct Config {
    requests_per_window: u64,
    window_seconds: u64,
}

/// One client's current window: when it started (whole seconds) and how many requests it saw.
struct Window {
    start: u64,
    count: u64,
}

type Windows = Rc<RefCell<HashMap<Vec<u8>, Window>>>;

/// The first `,`-separated entry of `x-forwarded-for`, spaces and tabs trimmed; `unknown` when
/// the header is missing or that entry is empty.
fn client_key(forwarded_for: Option<&[u8]>) -> Vec<u8> {
    let first = forwarded_for
        .and_then(|value| value.split(|&b| b == b',').next())
        .unwrap_or_default();
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = first
        .iter()
        .position(|b| !is_blank(b))
        .unwrap_or(first.len());
    let end = first
        .iter()
        .rposition(|b| !is_blank(b))
        .map_or(start, |i| i + 1);
    match first.get(start..end) {
        Some(key) if !key.is_empty() => key.to_vec(),
        _ => b"unknown".to_vec(),
    }
}

struct RateLimitRoot {
    config: Config,
    windows: Windows,
}

impl Context for RateLimitRoot {}

impl RootContext for RateLimitRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let want = r#"{"requests_per_window": <integer>, "window_seconds": <integer>}"#;
        let Some(config) = parse_config::<Config>(&raw, "rate_limit", want) else {
            return false;
        };
        self.config = config;
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(RateLimit {
            config: self.config,
            windows: Rc::clone(&self.windows),
            remaining: None,
        }))
    }
}

struct RateLimit {
    config: Config,
    windows: Windows,
    /// Set when the request was let through; copied onto the response.
    remaining: Option<u64>,
}

impl Context for RateLimit {}

impl HttpContext for RateLimit {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_request_headers_bytes();
        let key = client_key(joined_header(&headers, "x-forwarded-for").as_deref());
        let now = self
            .get_current_time()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());

        let count = {
            let mut windows = self.windows.borrow_mut();
            let window = windows.entry(key).or_insert(Window {
                start: now,
                count: 0,
            });
            // A clock that steps back (now < start) stays in the current window.
            if now.saturating_sub(window.start) >= self.config.window_seconds {
                window.start = now;
                window.count = 0;
            }
            window.count = window.count.saturating_add(1);
            window.count
        };

        if count > self.config.requests_per_window {
            self.send_http_response(
                429,
                vec![
                    ("x-rate-limit-exceeded", "true"),
                    ("content-type", "text/plain"),
                ],
                Some(b"Rate limit exceeded"),
            );
            return Action::Pause;
        }
        self.remaining = Some(self.config.requests_per_window - count);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(remaining) = self.remaining {
            self.set_http_response_header("x-rate-limit-remaining", Some(&remaining.to_string()));
        }
        Action::Continue
    }
}
