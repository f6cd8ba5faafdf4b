//! The Wasm twin of the walkthrough's `tenant_tag` Lua filter (README.md, "Your own filter"):
//! copy it over the scaffolded `filters-wasm/tenant_tag/src/lib.rs`.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(TenantTag))
    }
}

struct TenantTag;

impl Context for TenantTag {}

impl HttpContext for TenantTag {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        // Lua's headers():get() joins a repeated header's values with ","; proxy-wasm gives the
        // first value only, so join them here.
        let values: Vec<String> = self
            .get_http_request_headers()
            .into_iter()
            .filter(|(name, _)| name == "x-api-key")
            .map(|(_, value)| value)
            .collect();
        let key = values.join(",");
        if key.is_empty() {
            return self.refuse(401, "missing api key");
        }
        let Some(tenant) = tenant_of(&key) else {
            return self.refuse(403, "malformed api key");
        };
        let tenant = tenant.to_string();
        self.set_http_request_header("x-tenant", Some(&tenant));
        self.set_http_request_header("x-api-key", None);
        log::info!("tenant {tenant}");
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        self.add_http_response_header("x-tenant-served", "true");
        Action::Continue
    }
}

impl TenantTag {
    fn refuse(&self, status: u32, body: &str) -> Action {
        self.send_http_response(
            status,
            vec![("content-type", "text/plain")],
            Some(body.as_bytes()),
        );
        Action::Pause
    }
}

/// Lua's `string.match(key, "^([a-z]+)%-")`: the lower-case letters before the first `-`.
fn tenant_of(key: &str) -> Option<&str> {
    let end = key.bytes().take_while(u8::is_ascii_lowercase).count();
    (end > 0 && key.as_bytes().get(end) == Some(&b'-')).then(|| &key[..end])
}
