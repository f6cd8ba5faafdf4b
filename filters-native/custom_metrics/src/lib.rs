//! custom_metrics: counts requests per path prefix and response status in the counter
//! `custom_metrics.requests.<prefix>.<status>` (Envoy's `/stats` shows it under that name: the
//! module namespace `dynamicmodulescustom.` is stripped from the output). The prefix is the
//! first segment of `:path` (between the first `/` and the next `/`, `?` or the end) when it is
//! one of `prefixes`, `root` for an empty segment, `other` otherwise. Traffic is not changed.
//!
//! Envoy 1.40 lets a dynamic module define counters only while its configuration is made (a later
//! definition is refused, metrics result `Frozen`), unlike proxy-wasm, where the Wasm twin defines
//! each counter when a stream first needs it. So the configuration defines every counter the
//! contract can name up front: each prefix class (`prefixes`, `root`, `other`) times every status
//! Envoy forwards (100 to 599); `/stats?usedonly` shows the ones incremented. A status outside
//! that range (Envoy refuses it from upstream) is logged and not counted.
//! Configuration: `{"prefixes": ["<segment>", ...]}`.
//! Native twin (Envoy dynamic module) of `filters-lua/custom_metrics.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::collections::HashMap;
use std::sync::Arc;

use filterbench_native_common::parse_config;
use filterbench_native_sdk::{
    log, ConfigSetup, CounterId, Filter, FilterConfig, Headers, Http, Level,
};
use serde::Deserialize;

/// The statuses a counter is defined for.
const STATUSES: std::ops::RangeInclusive<u16> = 100..=599;

#[derive(Deserialize)]
struct Prefixes {
    prefixes: Vec<String>,
}

struct CustomMetricsConfig {
    prefixes: Vec<String>,
    /// Counter ids by prefix class, then by status (index `status - 100`).
    counters: HashMap<String, Vec<CounterId>>,
}

/// The metric label for `path`: its first segment if listed, `root` if empty, else `other`.
fn prefix_of(path: &[u8], prefixes: &[String]) -> String {
    let segment = path.iter().position(|&b| b == b'/').map(|slash| {
        let rest = &path[slash + 1..];
        let end = rest
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(rest.len());
        &rest[..end]
    });
    match segment {
        Some(segment) => {
            if let Some(listed) = prefixes.iter().find(|p| p.as_bytes() == segment) {
                listed.clone()
            } else if segment.is_empty() {
                "root".to_string()
            } else {
                "other".to_string()
            }
        }
        // No `/` at all (`*`, an authority-form target): no segment to recognise.
        None => "other".to_string(),
    }
}

impl FilterConfig for CustomMetricsConfig {
    type Filter = CustomMetrics;

    fn new(config: &[u8], setup: &mut ConfigSetup) -> Result<Self, String> {
        let Prefixes { prefixes } = parse_config(config, r#"{"prefixes": [<string>, ...]}"#)?;
        let mut counters = HashMap::new();
        let classes = prefixes.iter().map(String::as_str).chain(["root", "other"]);
        for class in classes {
            if counters.contains_key(class) {
                continue;
            }
            let ids = STATUSES
                .map(|status| {
                    setup.define_counter(&format!("custom_metrics.requests.{class}.{status}"))
                })
                .collect::<Result<Vec<CounterId>, String>>()?;
            counters.insert(class.to_string(), ids);
        }
        Ok(CustomMetricsConfig { prefixes, counters })
    }

    fn new_filter(config: &Arc<Self>) -> CustomMetrics {
        CustomMetrics {
            config: Arc::clone(config),
            prefix: None,
        }
    }
}

struct CustomMetrics {
    config: Arc<CustomMetricsConfig>,
    /// Computed from the request's `:path`.
    prefix: Option<String>,
}

impl Filter for CustomMetrics {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        let path = http.request_header(":path").unwrap_or_default();
        self.prefix = Some(prefix_of(&path, &self.config.prefixes));
        Headers::Continue
    }

    fn on_response_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        let Some(prefix) = &self.prefix else {
            return Headers::Continue;
        };
        let status = http.response_header(":status").unwrap_or_default();
        let id = std::str::from_utf8(&status)
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| STATUSES.contains(s))
            .and_then(|s| {
                let ids = self.config.counters.get(prefix.as_str())?;
                ids.get(usize::from(s - STATUSES.start()))
            });
        match id {
            Some(id) => http.increment_counter(*id, 1),
            None => log(
                Level::Error,
                &format!(
                    "custom_metrics: no counter for prefix {prefix:?} and status {:?}",
                    String::from_utf8_lossy(&status)
                ),
            ),
        }
        Headers::Continue
    }
}

filterbench_native_sdk::export_filter!("custom_metrics", CustomMetricsConfig);
