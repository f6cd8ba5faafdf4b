//! canary_tag: without `x-swimlane` and with `x-user-id`, FNV-1a 32-bit of the user id
//! `% 100 < canary_percent` sets `x-swimlane: canary`, else `production`.
//! Configuration: `{"canary_percent": <number>}`.
//! Native twin (Envoy dynamic module) of `filters-lua/canary_tag.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use filterbench_native_common::parse_config;
use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig, Headers, Http};
use serde::Deserialize;

#[derive(Deserialize)]
struct CanaryTagConfig {
    /// Compared as a number, like the Lua twin does (`hash % 100 < canary_percent`).
    canary_percent: f64,
}

/// FNV-1a, 32 bits.
fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(16_777_619)
    })
}

impl FilterConfig for CanaryTagConfig {
    type Filter = CanaryTag;

    fn new(config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        parse_config(config, r#"{"canary_percent": <number>}"#)
    }

    fn new_filter(config: &Arc<Self>) -> CanaryTag {
        CanaryTag {
            config: Arc::clone(config),
        }
    }
}

struct CanaryTag {
    config: Arc<CanaryTagConfig>,
}

impl Filter for CanaryTag {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        if http.request_header("x-swimlane").is_some() {
            return Headers::Continue;
        }
        if let Some(user_id) = http.request_header("x-user-id") {
            let lane: &[u8] = if f64::from(fnv1a_32(&user_id) % 100) < self.config.canary_percent {
                b"canary"
            } else {
                b"production"
            };
            http.set_request_header("x-swimlane", lane);
        }
        Headers::Continue
    }
}

filterbench_native_sdk::export_filter!("canary_tag", CanaryTagConfig);
