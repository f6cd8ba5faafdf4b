//! header_auth: request header `allow` must equal `true` (its joined value), else a local 403
//! `Forbidden`.
//! Native twin (Envoy dynamic module) of `filters-lua/header_auth.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig, Headers, Http};

struct HeaderAuthConfig;

impl FilterConfig for HeaderAuthConfig {
    type Filter = HeaderAuth;

    fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        Ok(HeaderAuthConfig)
    }

    fn new_filter(_config: &Arc<Self>) -> HeaderAuth {
        HeaderAuth
    }
}

struct HeaderAuth;

impl Filter for HeaderAuth {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        if http.request_header("allow").as_deref() == Some(b"true".as_slice()) {
            return Headers::Continue;
        }
        http.send_response(403, &[("content-type", b"text/plain")], b"Forbidden");
        Headers::StopIteration
    }
}

filterbench_native_sdk::export_filter!("header_auth", HeaderAuthConfig);
