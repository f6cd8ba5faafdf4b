//! test_strip_session: the Wasm twin of `bench/guests/test_strip_session.lua`, written for
//! `tests/configs.rs` (a filter of the project's own with a configured branch), not a pair of
//! the catalogue. It removes the `session` cookie from `cookie`; with the plugin configuration
//! `{"strip_authorization": true}` it also removes an `authorization` header that starts with
//! `Pomerium `. As the Lua filter reads headers with `get`, every value of a repeated header is
//! joined with "," before it is looked at. Built by `bench/build/build.rs` like the bench guests.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(StripSessionRoot { strip_authorization: false })
    });
}}

struct StripSessionRoot {
    strip_authorization: bool,
}

impl Context for StripSessionRoot {}

impl RootContext for StripSessionRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let config: serde_json::Value =
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        self.strip_authorization = config["strip_authorization"] == serde_json::Value::Bool(true);
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(StripSession {
            strip_authorization: self.strip_authorization,
        }))
    }
}

struct StripSession {
    strip_authorization: bool,
}

impl StripSession {
    /// Every value of request header `name` joined with ",", as Lua's `get` gives it.
    fn joined(&self, name: &str) -> Option<String> {
        let values: Vec<String> = self
            .get_http_request_headers()
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }
}

impl Context for StripSession {}

impl HttpContext for StripSession {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(cookie) = self.joined("cookie") {
            let kept: Vec<&str> = cookie
                .split(';')
                .filter(|part| !part.is_empty())
                .map(|part| part.trim_start_matches(' '))
                .filter(|part| !part.as_bytes().starts_with(b"session="))
                .collect();
            if kept.is_empty() {
                self.set_http_request_header("cookie", None);
            } else {
                self.set_http_request_header("cookie", Some(&kept.join("; ")));
            }
        }
        if self.strip_authorization {
            if let Some(authorization) = self.joined("authorization") {
                if authorization.as_bytes().starts_with(b"Pomerium ") {
                    self.set_http_request_header("authorization", None);
                }
            }
        }
        Action::Continue
    }
}
