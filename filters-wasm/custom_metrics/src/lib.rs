//! custom_metrics: counts requests per path prefix and response status in the proxy-wasm counter
//! `custom_metrics.requests.<prefix>.<status>`. The prefix is the first segment of `:path`
//! (between the first `/` and the next `/`, `?` or the end) when it is one of `prefixes`, `root`
//! for an empty segment, `other` otherwise. Traffic is not changed.
//! Metrics are defined once per distinct name and VM; their ids are cached in the root context.
//! Configuration: `{"prefixes": ["<segment>", ...]}`.
//! Wasm twin of `filters-lua/custom_metrics.lua`; behaviour contract in `bench/catalogue.toml`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use filterbench_twin_common::parse_config;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};
use serde::Deserialize;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(CustomMetricsRoot {
            prefixes: Rc::new(Vec::new()),
            metrics: Rc::new(RefCell::new(HashMap::new())),
        })
    });
}}

#[derive(Deserialize)]
struct Config {
    prefixes: Vec<String>,
}

/// Counter ids by metric name, for this VM.
type Metrics = Rc<RefCell<HashMap<String, u32>>>;

/// The metric label for `path`: its first segment if listed, `root` if empty, else `other`.
fn prefix_of(path: &[u8], prefixes: &[String]) -> String {
    let segment = match path.iter().position(|&b| b == b'/') {
        Some(slash) => {
            let rest = &path[slash + 1..];
            let end = rest
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(rest.len());
            Some(&rest[..end])
        }
        // No `/` at all (`*`, an authority-form target): no segment to recognise.
        None => None,
    };
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
        None => "other".to_string(),
    }
}

struct CustomMetricsRoot {
    prefixes: Rc<Vec<String>>,
    metrics: Metrics,
}

impl Context for CustomMetricsRoot {}

impl RootContext for CustomMetricsRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let want = r#"{"prefixes": [<string>, ...]}"#;
        let Some(config) = parse_config::<Config>(&raw, "custom_metrics", want) else {
            return false;
        };
        self.prefixes = Rc::new(config.prefixes);
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(CustomMetrics {
            prefixes: Rc::clone(&self.prefixes),
            metrics: Rc::clone(&self.metrics),
            prefix: None,
        }))
    }
}

struct CustomMetrics {
    prefixes: Rc<Vec<String>>,
    metrics: Metrics,
    /// Computed from the request's `:path`.
    prefix: Option<String>,
}

impl CustomMetrics {
    /// The counter id for `name`, defining the counter on first use in this VM.
    fn counter(&self, name: String) -> Option<u32> {
        let mut metrics = self.metrics.borrow_mut();
        if let Some(&id) = metrics.get(&name) {
            return Some(id);
        }
        let id = hostcalls::define_metric(MetricType::Counter, &name).ok()?;
        metrics.insert(name, id);
        Some(id)
    }
}

impl Context for CustomMetrics {}

impl HttpContext for CustomMetrics {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let path = self
            .get_http_request_header_bytes(":path")
            .unwrap_or_default();
        self.prefix = Some(prefix_of(&path, &self.prefixes));
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(prefix) = &self.prefix else {
            return Action::Continue;
        };
        let status = self
            .get_http_response_header_bytes(":status")
            .unwrap_or_default();
        let name = format!(
            "custom_metrics.requests.{prefix}.{}",
            String::from_utf8_lossy(&status)
        );
        if let Some(id) = self.counter(name) {
            let _ = hostcalls::increment_metric(id, 1);
        }
        Action::Continue
    }
}
