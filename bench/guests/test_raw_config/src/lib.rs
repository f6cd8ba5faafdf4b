//! test_raw_config: a proxy-wasm filter written for `filterbench run --envoy`'s tests, not a twin.
//! Its plugin configuration is a plain string (not JSON), read as it is in `on_configure`; every
//! request gets the request header `x-config` with that string (trimmed) and the response header
//! `x-config-bytes` with its length in bytes. Built by `bench/build/build.rs` like the bench
//! guests.

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { config: Rc::from("") })
    });
}}

struct Root {
    config: Rc<str>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        self.config = Rc::from(String::from_utf8_lossy(&bytes).as_ref());
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(RawConfig {
            config: self.config.clone(),
        }))
    }
}

struct RawConfig {
    config: Rc<str>,
}

impl Context for RawConfig {}

impl HttpContext for RawConfig {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.set_http_request_header("x-config", Some(self.config.trim()));
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let len = self.config.len().to_string();
        self.set_http_response_header("x-config-bytes", Some(&len));
        Action::Continue
    }
}
