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
//! ([`crate::swap_chart`]). The shape (`filterbench_model::results::swap`) is versioned by its
//! `SWAP_SCHEMA`; its `read_swap` refuses another version naming the file.

use std::fmt::Write as _;
use std::path::Path;

use crate::html::{esc, note, num, table, Cell};

use filterbench_model::results::swap::SwapResult;

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
    use filterbench_model::results::swap::read_swap;

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
