//! The live-switch result, `swap/<pair>.json` ([`SwapResult`]), written by `filterbench swap
//! --pair NAME` and rendered by the report's "Switching live" section. The shape is versioned
//! by [`SWAP_SCHEMA`]; [`read_swap`] refuses another version naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{read_result, MachineInfo, ReadError};

/// Version of [`SwapResult`]'s JSON shape.
pub const SWAP_SCHEMA: u32 = 1;

/// `<results>/swap/<pair>.json`.
pub fn swap_path(results: &Path, pair: &str) -> PathBuf {
    results.join("swap").join(format!("{pair}.json"))
}

/// Reads a swap result, checking its schema version.
pub fn read_swap(path: &Path) -> Result<SwapResult, ReadError> {
    read_result(path, SWAP_SCHEMA)
}

/// A whole `filterbench swap` run of one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapResult {
    pub schema_version: u32,
    pub pair: String,
    pub envoy_version: String,
    pub machine: MachineInfo,
    pub started_ms: u64,
    /// How the twins were switched, in words (the ECDS file slot, or the fallback used).
    pub mechanism: String,
    /// Width of a timeline interval, ms.
    pub interval_ms: f64,
    pub by_workers: Vec<SwapRun>,
    /// True when stopped early (Ctrl-C).
    pub partial: bool,
}

/// The run at one Envoy worker count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapRun {
    pub workers: u32,
    /// Closed-loop capacity measured before the run (req/s), when the rate was derived from it.
    pub capacity_rps: Option<f64>,
    /// The open-loop rate (req/s).
    pub rate_rps: f64,
    /// `half of the measured capacity` or `--rate`.
    pub rate_source: String,
    pub connections: usize,
    pub duration_s: f64,
    /// Requests due during the run (answered or failed).
    pub requests: u64,
    pub responses: u64,
    /// Failed requests over the whole run: status >= 500, resets, timeouts, other errors.
    pub failed: Failures,
    pub switches: Vec<Switch>,
    pub probes: Probes,
    /// Envoy before the first switch and after the last.
    pub memory_start: MemoryPoint,
    pub memory_end: MemoryPoint,
    pub timeline: Vec<TimelinePoint>,
}

/// Failed requests by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    pub s5xx: u64,
    pub reset: u64,
    pub timeout: u64,
    pub other: u64,
}

impl Failures {
    pub fn total(&self) -> u64 {
        self.s5xx + self.reset + self.timeout + self.other
    }
}

/// Envoy's memory at a moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryPoint {
    /// /proc VmRSS, bytes.
    pub rss_bytes: u64,
    /// Admin `/stats` `wasm.envoy.wasm.runtime.v8.active`.
    pub wasm_vms: u64,
}

/// One switch: a rename of the slot file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    /// `lua` / `wasm` / `corrupt_wasm`.
    pub from: String,
    pub to: String,
    /// Whether Envoy should accept the new file (false for the corrupt module).
    pub expect_accepted: bool,
    /// The rename, ms from the start of the load run.
    pub at_ms: f64,
    /// Envoy accepted it (`update_success` went up) / rejected it (`update_rejected`, `config_fail`).
    pub accepted: bool,
    pub rejected: bool,
    /// Rename -> the admin API first showed the ECDS counter move, ms (polled every few ms).
    pub reload_seen_ms: Option<f64>,
    /// Rename -> Envoy's own `update_time` stamp of the accepted update, ms (Envoy's clock).
    pub envoy_update_ms: Option<f64>,
    /// Rename -> the Wasm VM count settled at its value for the new twin (Wasm: one VM per worker
    /// plus the main thread's have appeared; Lua: the Wasm VMs are gone, i.e. no worker holds the
    /// Wasm twin any more), ms. None when it did not settle within the watch.
    pub converged_ms: Option<f64>,
    /// How `converged_ms` was decided, in words.
    pub converged_by: String,
    pub memory_before: MemoryPoint,
    pub memory_after: MemoryPoint,
    /// The slot's ECDS stats and the Wasm stats after the switch.
    pub stats_after: BTreeMap<String, u64>,
    /// Envoy's log lines (warnings and errors) written during the switch.
    pub log: Vec<String>,
    /// Requests due in the window around the switch and their failures.
    pub window: Window,
}

/// The load around one switch against the second before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Window start and end, ms from the start of the run.
    pub from_ms: f64,
    pub to_ms: f64,
    pub requests: u64,
    pub failed: Failures,
    /// p99 latency of the requests due in the window / in the second before the rename, us.
    pub p99_us: u64,
    pub p99_before_us: u64,
    pub max_us: u64,
}

/// Corpus scenarios replayed through the slot during the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Probes {
    /// The scenarios replayed (cycled).
    pub scenarios: Vec<String>,
    pub sent: u64,
    /// Probes whose normalised outcome equalled the pair's verified outcome and met the corpus
    /// expectations.
    pub as_expected: u64,
    /// Probes by the twin the slot was serving when they were sent (by the switch times and
    /// convergence above): `lua`, `wasm`, `switching`.
    pub by_phase: BTreeMap<String, u64>,
    /// The first few probes that did not (scenario, time, what differed).
    pub mismatches: Vec<String>,
}

/// One interval of the run's timeline (by intended send time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub t_ms: f64,
    pub responses: u64,
    pub s5xx: u64,
    pub reset: u64,
    pub timeout: u64,
    pub other: u64,
    /// Responses completed in the interval, per second.
    pub completed_rps: f64,
    pub p99_us: u64,
    pub max_us: u64,
}
