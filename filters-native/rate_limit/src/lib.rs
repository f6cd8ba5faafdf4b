//! rate_limit: fixed-window limit of `requests_per_window` requests per `window_seconds` per
//! client. The client key is the first `,`-separated entry of `x-forwarded-for` (spaces and tabs
//! trimmed), `unknown` when missing or empty. A client's window starts at its first request (whole
//! seconds); a request at t with t - t0 >= window_seconds starts a new window. Every request
//! counts; past the limit a local 429 `Rate limit exceeded` with `x-rate-limit-exceeded: true`,
//! otherwise the response gets `x-rate-limit-remaining`.
//! State is per worker thread, as in Envoy's Lua (one Lua state per worker) and Wasm (one VM per
//! worker): a module's code is shared by the workers, so the windows live in a thread-local map.
//! Configuration: `{"requests_per_window": <integer>, "window_seconds": <integer>}`.
//! Native twin (Envoy dynamic module) of `filters-lua/rate_limit.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use filterbench_native_common::{parse_config, since_epoch};
use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig, Headers, Http};
use serde::Deserialize;

#[derive(Deserialize)]
struct RateLimitConfig {
    requests_per_window: u64,
    window_seconds: u64,
}

/// One client's current window: when it started (whole seconds) and how many requests it saw.
struct Window {
    start: u64,
    count: u64,
}

thread_local! {
    /// This worker's windows, by configuration (its address) and client key.
    static WINDOWS: RefCell<HashMap<(usize, Vec<u8>), Window>> = RefCell::new(HashMap::new());
}

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

impl FilterConfig for RateLimitConfig {
    type Filter = RateLimit;

    fn new(config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        parse_config(
            config,
            r#"{"requests_per_window": <integer>, "window_seconds": <integer>}"#,
        )
    }

    fn new_filter(config: &Arc<Self>) -> RateLimit {
        RateLimit {
            config: Arc::clone(config),
            remaining: None,
        }
    }
}

struct RateLimit {
    config: Arc<RateLimitConfig>,
    /// Set when the request was let through; copied onto the response.
    remaining: Option<u64>,
}

impl Filter for RateLimit {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        let key = client_key(http.request_header("x-forwarded-for").as_deref());
        let now = since_epoch().as_secs();
        let config = &self.config;
        let count = WINDOWS.with(|windows| {
            let mut windows = windows.borrow_mut();
            let id = Arc::as_ptr(config) as usize;
            let window = windows.entry((id, key)).or_insert(Window {
                start: now,
                count: 0,
            });
            // A clock that steps back (now < start) stays in the current window.
            if now.saturating_sub(window.start) >= config.window_seconds {
                window.start = now;
                window.count = 0;
            }
            window.count = window.count.saturating_add(1);
            window.count
        });
        if count > config.requests_per_window {
            http.send_response(
                429,
                &[
                    ("x-rate-limit-exceeded", b"true"),
                    ("content-type", b"text/plain"),
                ],
                b"Rate limit exceeded",
            );
            return Headers::StopIteration;
        }
        self.remaining = Some(config.requests_per_window - count);
        Headers::Continue
    }

    fn on_response_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        if let Some(remaining) = self.remaining {
            http.set_response_header("x-rate-limit-remaining", remaining.to_string().as_bytes());
        }
        Headers::Continue
    }
}

filterbench_native_sdk::export_filter!("rate_limit", RateLimitConfig);
