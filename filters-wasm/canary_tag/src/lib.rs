//! canary_tag: when `x-swimlane` is absent and `x-user-id` is present (even empty), sets
//! `x-swimlane` to `canary` if FNV-1a-32(value of x-user-id) % 100 < canary_percent, else to
//! `production`. A present `x-swimlane` (even empty) or a missing `x-user-id` leaves the request
//! unchanged. Configuration: `{"canary_percent": <number>}`.
//! Wasm twin of `filters-lua/canary_tag.lua`; behaviour contract in `bench/catalogue.toml`.

use filterbench_twin_common::{joined_header, parse_config};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(CanaryTagRoot { canary_percent: 0.0 })
    });
}}

#[derive(Deserialize)]
struct Config {
    /// Compared as a number, like the Lua twin does (`hash % 100 < canary_percent`).
    canary_percent: f64,
}

/// FNV-1a, 32 bits.
fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(16_777_619)
    })
}

struct CanaryTagRoot {
    canary_percent: f64,
}

impl Context for CanaryTagRoot {}

impl RootContext for CanaryTagRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let want = r#"{"canary_percent": <number>}"#;
        let Some(config) = parse_config::<Config>(&raw, "canary_tag", want) else {
            return false;
        };
        self.canary_percent = config.canary_percent;
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CanaryTag {
            canary_percent: self.canary_percent,
        }))
    }
}

struct CanaryTag {
    canary_percent: f64,
}

impl Context for CanaryTag {}

impl HttpContext for CanaryTag {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_request_headers_bytes();
        if joined_header(&headers, "x-swimlane").is_some() {
            return Action::Continue;
        }
        if let Some(user_id) = joined_header(&headers, "x-user-id") {
            let lane = if f64::from(fnv1a_32(&user_id) % 100) < self.canary_percent {
                "canary"
            } else {
                "production"
            };
            self.set_http_request_header("x-swimlane", Some(lane));
        }
        Action::Continue
    }
}
