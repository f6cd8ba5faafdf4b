//! bot_block: a `user-agent` containing `bot` (ASCII letters folded) gets a local 403
//! `Forbidden`; others pass.
//! Native twin (Envoy dynamic module) of `filters-lua/bot_block.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig, Headers, Http};

fn contains_bot(value: &[u8]) -> bool {
    value.windows(3).any(|w| w.eq_ignore_ascii_case(b"bot"))
}

struct BotBlockConfig;

impl FilterConfig for BotBlockConfig {
    type Filter = BotBlock;

    fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        Ok(BotBlockConfig)
    }

    fn new_filter(_config: &Arc<Self>) -> BotBlock {
        BotBlock
    }
}

struct BotBlock;

impl Filter for BotBlock {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        match http.request_header("user-agent") {
            Some(agent) if contains_bot(&agent) => {
                http.send_response(403, &[("content-type", b"text/plain")], b"Forbidden");
                Headers::StopIteration
            }
            _ => Headers::Continue,
        }
    }
}

filterbench_native_sdk::export_filter!("bot_block", BotBlockConfig);
