//! passthrough: an Envoy dynamic module that does nothing. Every hook is the SDK's default
//! (continue headers, body and trailers), so a request through it costs exactly what Envoy's
//! dynamic-modules filter and the SDK's dispatch cost: the native column of "what merely having
//! a filter costs". Twin of `bench/guests/passthrough.lua` and `bench/guests/bench_passthrough`.
//!
//! Not a pair (no catalogue entry; `passthrough` is a reserved pair name,
//! `filterbench_model::catalogue::RESERVED_NAMES`): built by `bench/build/build.rs` with the
//! native twins to `target/filters-native/passthrough.so`, measured by
//! `filterbench load --pair passthrough`.

use std::sync::Arc;

use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig};

struct PassthroughConfig;

impl FilterConfig for PassthroughConfig {
    type Filter = Passthrough;

    fn new(_config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        Ok(PassthroughConfig)
    }

    fn new_filter(_config: &Arc<Self>) -> Passthrough {
        Passthrough
    }
}

struct Passthrough;

impl Filter for Passthrough {}

filterbench_native_sdk::export_filter!("passthrough", PassthroughConfig);
