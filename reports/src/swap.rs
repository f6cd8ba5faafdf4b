//! The live-switch result (`reports/results/swap/<pair>.json`, written by `filterbench swap
//! --pair NAME`) and its "Switching live" HTML section.
//!
//! One Envoy per worker count runs the pair's filter in an ECDS slot fed from a file; under an
//! open-loop load the file is renamed over to switch Lua -> Wasm -> Lua and finally to a corrupt
//! Wasm module (which Envoy must reject, leaving Lua serving). The file records, per switch, what
//! Envoy's admin stats said (ECDS counters, Wasm VMs, RSS), how long until they showed the new
//! twin everywhere, the requests that failed around it and the p99 latency around it against the
//! p99 before, and a 100 ms timeline of the whole run; plus corpus scenarios replayed during the
//! run and checked. [`render_section`] turns it into HTML with a timeline chart
//! ([`crate::swap_chart`]). The shape is versioned by [`SWAP_SCHEMA`]; [`read_swap`] refuses
//! another version naming the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::html::{esc, note, num, table, Cell};
use crate::results::{read_result, MachineInfo, ReadError};

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

/// The "Switching live" section for one pair: `result` when measured, else a note naming the
/// missing file and the command that makes it. `path` is shown as given (pass it relative to
/// the project). Errors only when the chart cannot be drawn.
pub fn render_section(
    result: Option<&SwapResult>,
    path: &Path,
) -> Result<String, crate::charts::ChartError> {
    let mut out = String::from("<section data-section=\"swap\">\n<h2>Switching live</h2>\n");
    let Some(r) = result else {
        let _ = writeln!(
            out,
            "<p class=\"missing\">Missing data: the live-switch measurement — <code>{}</code>. \
             Produce it with <code>filterbench swap --pair NAME</code>.</p>\n</section>",
            esc(&path.display().to_string())
        );
        return Ok(out);
    };
    out.push_str(&note(&format!(
        "{} Envoy {}, {} CPUs. Open-loop load, latency from each request's intended send time; \
         the timeline has one point per {} ms.",
        r.mechanism,
        r.envoy_version,
        r.machine.cpus,
        num(r.interval_ms)
    )));
    if r.partial {
        out.push_str(&note("Partial: the run was stopped early."));
    }
    for run in &r.by_workers {
        let _ = writeln!(
            out,
            "<h3>{} worker{}: {} req/s ({})</h3>",
            run.workers,
            if run.workers == 1 { "" } else { "s" },
            num(run.rate_rps),
            esc(&run.rate_source)
        );
        out.push_str(&crate::swap_chart::timeline(r, run)?);
        let rows: Vec<(String, Vec<Cell>)> = run
            .switches
            .iter()
            .map(|s| {
                let outcome = match (s.accepted, s.rejected) {
                    (true, _) => "accepted",
                    (false, true) => "rejected",
                    (false, false) => "no reaction",
                };
                let ms = |v: Option<f64>| v.map_or("n/a".to_string(), num);
                (
                    format!("data-switch=\"{}-{}\"", esc(&s.from), esc(&s.to)),
                    vec![
                        Cell::Text(format!("{} → {}", s.from, s.to)),
                        Cell::Num(format!("{:.1} s", s.at_ms / 1000.0)),
                        Cell::Text(outcome.into()),
                        Cell::Num(ms(s.reload_seen_ms)),
                        Cell::Num(ms(s.converged_ms)),
                        Cell::Num(s.window.failed.total().to_string()),
                        Cell::Num(s.window.requests.to_string()),
                        Cell::Num(num(s.window.p99_before_us as f64 / 1000.0)),
                        Cell::Num(num(s.window.p99_us as f64 / 1000.0)),
                        Cell::Num(format!(
                            "{} → {}",
                            num(s.memory_before.rss_bytes as f64 / 1048576.0),
                            num(s.memory_after.rss_bytes as f64 / 1048576.0)
                        )),
                        Cell::Num(format!(
                            "{} → {}",
                            s.memory_before.wasm_vms, s.memory_after.wasm_vms
                        )),
                    ],
                )
            })
            .collect();
        out.push_str(&table(
            &[
                "switch",
                "at",
                "Envoy",
                "stats show it (ms)",
                "all workers (ms)",
                "failed",
                "requests in window",
                "p99 before (ms)",
                "p99 around (ms)",
                "RSS MiB",
                "Wasm VMs",
            ],
            &rows,
        ));
        let p = &run.probes;
        let phases = p
            .by_phase
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&note(&format!(
            "Whole run: {} requests, {} failed ({} with status ≥ 500, {} resets, {} timeouts, {} \
             other). Corpus probes: {} of {} as verified ({phases}).",
            run.requests,
            run.failed.total(),
            run.failed.s5xx,
            run.failed.reset,
            run.failed.timeout,
            run.failed.other,
            p.as_expected,
            p.sent
        )));
        if !p.mismatches.is_empty() {
            out.push_str("<ul class=\"failures\">\n");
            for m in &p.mismatches {
                let _ = writeln!(out, "<li>{}</li>", esc(m));
            }
            out.push_str("</ul>\n");
        }
        for s in run.switches.iter().filter(|s| !s.log.is_empty()) {
            out.push_str(&note(&format!(
                "Envoy's log at {} → {}: {}",
                s.from,
                s.to,
                s.log.join(" | ")
            )));
        }
    }
    out.push_str("</section>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_result_is_said_with_the_command_that_makes_it() {
        let html = render_section(None, Path::new("reports/results/swap/x.json")).unwrap();
        assert!(html.contains("Switching live"));
        assert!(html.contains("class=\"missing\""));
        assert!(html.contains("reports/results/swap/x.json"));
        assert!(html.contains("filterbench swap --pair NAME"));
    }

    #[test]
    fn another_schema_version_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, r#"{"schema_version": 99}"#).unwrap();
        let err = read_swap(&path).unwrap_err().to_string();
        assert!(err.contains("p.json"), "{err}");
    }
}
