//! trace_id: keeps a non-empty `x-trace-id` (its joined value), else sets 32 random lowercase hex
//! characters; copies the value onto the response.
//! Native twin (Envoy dynamic module) of `filters-lua/trace_id.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use filterbench_native_common::random_hex;
use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig, Headers, Http};

struct TraceIdConfig;

impl FilterConfig for TraceIdConfig {
    type Filter = TraceId;

    fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        Ok(TraceIdConfig)
    }

    fn new_filter(_config: &Arc<Self>) -> TraceId {
        TraceId { trace_id: None }
    }
}

struct TraceId {
    /// The request's (kept or generated) value, copied onto the response.
    trace_id: Option<Vec<u8>>,
}

impl Filter for TraceId {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        let trace_id = match http.request_header("x-trace-id") {
            Some(value) if !value.is_empty() => value,
            _ => {
                let generated = random_hex().into_bytes();
                http.set_request_header("x-trace-id", &generated);
                generated
            }
        };
        self.trace_id = Some(trace_id);
        Headers::Continue
    }

    fn on_response_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        if let Some(trace_id) = &self.trace_id {
            http.set_response_header("x-trace-id", trace_id);
        }
        Headers::Continue
    }
}

filterbench_native_sdk::export_filter!("trace_id", TraceIdConfig);
