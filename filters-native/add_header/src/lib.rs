//! add_header: request gets `x-custom-header: Hello from filter`, response gets `hello: world`.
//! Native twin (Envoy dynamic module) of `filters-lua/add_header.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig, Headers, Http};

struct AddHeaderConfig;

impl FilterConfig for AddHeaderConfig {
    type Filter = AddHeader;

    fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        Ok(AddHeaderConfig)
    }

    fn new_filter(_config: &Arc<Self>) -> AddHeader {
        AddHeader
    }
}

struct AddHeader;

impl Filter for AddHeader {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        http.add_request_header("x-custom-header", b"Hello from filter");
        Headers::Continue
    }

    fn on_response_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        http.add_response_header("hello", b"world");
        Headers::Continue
    }
}

filterbench_native_sdk::export_filter!("add_header", AddHeaderConfig);
