//! What Envoy does when an extension fails, measured: `failure/strategy.json`
//! ([`FailureRecord`]), written by `filterbench verify --envoy --failure-strategy`, read by the
//! report ([`read`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{read_result, ReadError};

/// Version of [`FailureRecord`]'s JSON shape.
pub const FAILURE_SCHEMA: u32 = 1;

/// `failure/strategy.json` under `reports/results`.
pub fn failure_path(results: &Path) -> PathBuf {
    results.join("failure").join("strategy.json")
}

/// The measured failure behaviour of Envoy for Lua and for Wasm under each strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub schema_version: u32,
    /// `envoy --version` of the Envoy measured.
    pub envoy_version: String,
    /// When it was measured (ms since the Unix epoch).
    pub measured_at_ms: u64,
    /// Which request (1-based) makes the filter fail.
    pub failing_request: u32,
    pub strategies: Vec<StrategyResult>,
}

/// One filter under one failure strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyResult {
    /// `lua` or `wasm`.
    pub filter: String,
    /// Istio's `failStrategy` (`FAIL_CLOSE`, `FAIL_OPEN`, `FAIL_RELOAD`); `None` for Lua, which
    /// has no such setting.
    pub fail_strategy: Option<String>,
    /// The part of the Envoy filter configuration that sets the behaviour (e.g.
    /// `{"fail_open": false}`), as the translation of the manifest gives it.
    pub envoy_setting: serde_json::Value,
    /// Every request, in order.
    pub requests: Vec<RequestResult>,
    /// One sentence, derived from `requests`, on what happens from the failing request on (the
    /// file's key is `verdict`, from before that word meant only the migration decision).
    #[serde(rename = "verdict")]
    pub what_happened: String,
}

/// What one request got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestResult {
    /// 1-based.
    pub n: u32,
    /// The HTTP status the client got (0: no HTTP response).
    pub status: u16,
    /// The echo upstream received the request.
    pub reached_upstream: bool,
    /// The filter's mark (a request header it adds) was on the request the upstream received.
    pub filter_ran: bool,
}

/// Reads `failure/strategy.json` (checks `schema_version`).
pub fn read(results: &Path) -> Result<FailureRecord, ReadError> {
    read_result(&failure_path(results), FAILURE_SCHEMA)
}
