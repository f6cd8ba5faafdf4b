//! path_regex: when `:path` (query string included) matches `^/api/v([0-9]+)/`, sets
//! `x-api-version` to the digits exactly as written; other paths pass unchanged (a client's own
//! `x-api-version` is kept). Uses the `regex` crate, compiled once per VM.
//! Wasm twin of `filters-lua/path_regex.lua`; behaviour contract in `bench/catalogue.toml`.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use regex::bytes::Regex;

/// ASCII digits only (`[0-9]`, not `\d`), at least one, then the required slash.
const API_VERSION: &str = r"^/api/v([0-9]+)/";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(PathRegexRoot { regex: None })
    });
}}

struct PathRegexRoot {
    regex: Option<Rc<Regex>>,
}

impl Context for PathRegexRoot {}

impl RootContext for PathRegexRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        match Regex::new(API_VERSION) {
            Ok(regex) => {
                self.regex = Some(Rc::new(regex));
                true
            }
            Err(err) => {
                let _ = hostcalls::log(LogLevel::Error, &format!("path_regex: {err}"));
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(PathRegex {
            regex: self.regex.clone(),
        }))
    }
}

struct PathRegex {
    regex: Option<Rc<Regex>>,
}

impl Context for PathRegex {}

impl HttpContext for PathRegex {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(regex) = &self.regex else {
            return Action::Continue;
        };
        let Some(path) = self.get_http_request_header_bytes(":path") else {
            return Action::Continue;
        };
        if let Some(digits) = regex.captures(&path).and_then(|c| c.get(1)) {
            self.set_http_request_header_bytes("x-api-version", Some(digits.as_bytes()));
        }
        Action::Continue
    }
}
