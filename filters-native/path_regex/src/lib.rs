//! path_regex: a `:path` matching `^/api/v([0-9]+)/` gets `x-api-version: <n>`; other paths
//! pass.
//! Native twin (Envoy dynamic module) of `filters-lua/path_regex.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig, Headers, Http};
use regex::bytes::Regex;

/// ASCII digits only (`[0-9]`, not `\d`), at least one, then the required slash.
const API_VERSION: &str = r"^/api/v([0-9]+)/";

struct PathRegexConfig {
    regex: Regex,
}

impl FilterConfig for PathRegexConfig {
    type Filter = PathRegex;

    fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        let regex = Regex::new(API_VERSION).map_err(|e| e.to_string())?;
        Ok(PathRegexConfig { regex })
    }

    fn new_filter(config: &Arc<Self>) -> PathRegex {
        PathRegex {
            config: Arc::clone(config),
        }
    }
}

struct PathRegex {
    config: Arc<PathRegexConfig>,
}

impl Filter for PathRegex {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        let Some(path) = http.request_header(":path") else {
            return Headers::Continue;
        };
        if let Some(digits) = self.config.regex.captures(&path).and_then(|c| c.get(1)) {
            http.set_request_header("x-api-version", digits.as_bytes());
        }
        Headers::Continue
    }
}

filterbench_native_sdk::export_filter!("path_regex", PathRegexConfig);
