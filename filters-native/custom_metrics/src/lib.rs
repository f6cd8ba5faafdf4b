//! custom_metrics: counts requests per path prefix and response status in the counter
//! `custom_metrics.requests.<prefix>.<status>` (Envoy shows it as
//! `dynamicmodulescustom.custom_metrics.requests.<prefix>.<status>`). The prefix is the first
//! segment of `:path` (between the first `/` and the next `/`, `?` or the end) when it is one of
//! `prefixes`, `root` for an empty segment, `other` otherwise. Traffic is not changed.
//! A counter is defined once per distinct name, the first time a stream needs it (names depend on
//! the response status); definitions are cached in the configuration, behind a mutex (the
//! workers share it).
//! Configuration: `{"prefixes": ["<segment>", ...]}`.
//! Native twin (Envoy dynamic module) of `filters-lua/custom_metrics.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use filterbench_native_common::parse_config;
use filterbench_native_sdk::{
    log, ConfigHandle, ConfigSetup, CounterId, Filter, FilterConfig, Headers, Http, Level,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Prefixes {
    prefixes: Vec<String>,
}

struct CustomMetricsConfig {
    prefixes: Vec<String>,
    envoy: ConfigHandle,
    /// Counter ids by name.
    counters: Mutex<HashMap<String, CounterId>>,
}

impl CustomMetricsConfig {
    /// The counter id for `name`, defining the counter on first use.
    fn counter(&self, name: String) -> Option<CounterId> {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = counters.get(&name) {
            return Some(id);
        }
        match self.envoy.define_counter(&name) {
            Ok(id) => {
                counters.insert(name, id);
                Some(id)
            }
            Err(e) => {
                log(Level::Error, &format!("custom_metrics: {e}"));
                None
            }
        }
    }
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
        Ok(CustomMetricsConfig {
            prefixes,
            envoy: setup.handle(),
            counters: Mutex::new(HashMap::new()),
        })
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
        let name = format!(
            "custom_metrics.requests.{prefix}.{}",
            String::from_utf8_lossy(&status)
        );
        if let Some(id) = self.config.counter(name) {
            http.increment_counter(id, 1);
        }
        Headers::Continue
    }
}

filterbench_native_sdk::export_filter!("custom_metrics", CustomMetricsConfig);
