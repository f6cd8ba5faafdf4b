//! path_log: logs `path_log: <:path>` at info level (Envoy's log, logger `dynamic_modules`);
//! traffic is not changed.
//! Native twin (Envoy dynamic module) of `filters-lua/path_log.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use filterbench_native_sdk::{log, ConfigSetup, Filter, FilterConfig, Headers, Http, Level};

struct PathLogConfig;

impl FilterConfig for PathLogConfig {
    type Filter = PathLog;

    fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        Ok(PathLogConfig)
    }

    fn new_filter(_config: &Arc<Self>) -> PathLog {
        PathLog
    }
}

struct PathLog;

impl Filter for PathLog {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        let path = http.request_header(":path").unwrap_or_default();
        log(
            Level::Info,
            &format!("path_log: {}", String::from_utf8_lossy(&path)),
        );
        Headers::Continue
    }
}

filterbench_native_sdk::export_filter!("path_log", PathLogConfig);
