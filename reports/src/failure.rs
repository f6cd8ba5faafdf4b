//! What Envoy does when an extension fails, measured (`reports/results/failure/strategy.json`,
//! written by `filterbench verify --envoy --failure-strategy`): a Wasm module that traps on one
//! request, under each `failStrategy` Istio offers (`FAIL_CLOSE`, `FAIL_OPEN`, `FAIL_RELOAD`,
//! which become the Wasm filter's `fail_open` / `failure_policy`), and a Lua script that raises on
//! the same request. Each row is what the client got and whether the request reached the
//! upstream, and whether the filter ran, for every request before and after the failure.
//!
//! [`FailureRecord`] is the file's shape (`filterbench_model::results::failure`: loadgen
//! writes it, the report reads it with its `read`); [`render_table`] renders it as an
//! HTML table with the report's helpers.

use std::fmt::Write as _;

use crate::html::{esc, table, Cell};

use filterbench_model::results::failure::{FailureRecord, RequestResult};

/// The outcome of one request in a few words.
pub fn describe(r: &RequestResult) -> String {
    match (r.status, r.reached_upstream, r.filter_ran) {
        (0, _, _) => "no HTTP response".into(),
        (s, true, true) => format!("{s}, filtered"),
        (s, true, false) => format!("{s}, NOT filtered"),
        (s, false, _) => format!("{s}, refused"),
    }
}

/// The table: one row per filter and strategy, one column per request.
pub fn render_table(record: &FailureRecord) -> String {
    let requests = record
        .strategies
        .iter()
        .map(|s| s.requests.len())
        .max()
        .unwrap_or(0);
    let mut head: Vec<String> = vec!["filter".into(), "strategy".into(), "Envoy setting".into()];
    for n in 1..=requests {
        if n == record.failing_request as usize {
            head.push(format!("request {n} (fails)"));
        } else {
            head.push(format!("request {n}"));
        }
    }
    head.push("after the failure".into());
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let rows: Vec<(String, Vec<Cell>)> = record
        .strategies
        .iter()
        .map(|s| {
            let mut cells = vec![
                Cell::Text(s.filter.clone()),
                Cell::Text(
                    s.fail_strategy
                        .clone()
                        .unwrap_or_else(|| "(none: Lua)".into()),
                ),
                Cell::Html(format!(
                    "<code>{}</code>",
                    esc(&s.envoy_setting.to_string())
                )),
            ];
            for n in 0..requests {
                cells.push(Cell::Text(
                    s.requests.get(n).map(describe).unwrap_or_default(),
                ));
            }
            cells.push(Cell::Text(s.what_happened.clone()));
            (String::new(), cells)
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<p>Envoy {} (measured {}): request {} makes the filter fail (a Wasm trap, a Lua error).</p>",
        esc(&record.envoy_version),
        esc(&crate::html::utc(record.measured_at_ms)),
        record.failing_request
    );
    out.push_str(&table(&head, &rows));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use filterbench_model::results::failure::{failure_path, read, StrategyResult, FAILURE_SCHEMA};

    fn record() -> FailureRecord {
        FailureRecord {
            schema_version: FAILURE_SCHEMA,
            envoy_version: "1.40.0".into(),
            measured_at_ms: 0,
            failing_request: 2,
            strategies: vec![StrategyResult {
                filter: "wasm".into(),
                fail_strategy: Some("FAIL_OPEN".into()),
                envoy_setting: serde_json::json!({"fail_open": true}),
                requests: vec![
                    RequestResult {
                        n: 1,
                        status: 200,
                        reached_upstream: true,
                        filter_ran: true,
                    },
                    RequestResult {
                        n: 2,
                        status: 200,
                        reached_upstream: true,
                        filter_ran: false,
                    },
                ],
                what_happened: "requests go on unfiltered".into(),
            }],
        }
    }

    #[test]
    fn round_trips_and_refuses_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = failure_path(dir.path());
        filterbench_model::results::write_json_atomically(&path, &record()).unwrap();
        assert_eq!(read(dir.path()).unwrap(), record());
        let mut other = serde_json::to_value(record()).unwrap();
        other["schema_version"] = 99.into();
        filterbench_model::results::write_json_atomically(&path, &other).unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("strategy.json"), "{err}");
    }

    #[test]
    fn the_table_shows_each_request() {
        let html = render_table(&record());
        assert!(html.contains("request 2 (fails)"), "{html}");
        assert!(html.contains("200, NOT filtered"), "{html}");
        assert!(html.contains("FAIL_OPEN"), "{html}");
        assert!(html.contains("{&quot;fail_open&quot;:true}"), "{html}");
    }
}
