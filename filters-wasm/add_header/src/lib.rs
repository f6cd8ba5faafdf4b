//! add_header: request gets `x-custom-header: Hello from filter`, response gets `hello: world`.
//! Wasm twin of `filters-lua/add_header.lua`; behaviour contract in `bench/catalogue.toml`.

use filterbench_twin_common::StatelessRoot;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(StatelessRoot(|| Box::new(AddHeader)))
    });
}}

struct AddHeader;

impl Context for AddHeader {}

impl HttpContext for AddHeader {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.add_http_request_header("x-custom-header", "Hello from filter");
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.add_http_response_header("hello", "world");
        Action::Continue
    }
}
