//! The CLI's output contract: the summary line comes last, `--json` says the same as JSON.

use std::time::Duration;

use crate::support::{filterbench, text};

#[test]
fn json_output_carries_the_summary_and_the_outcomes() {
    let out = filterbench(
        &[
            "verify",
            "--envoy",
            "--pair",
            "trace_id",
            "--json",
            "--outcomes",
        ],
        &[],
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let corpus = filterbench_model::Corpus::load(
        &filterbench_model::project_root().join("bench/corpus/trace_id.toml"),
        "trace_id",
    )
    .unwrap();
    let n = corpus.scenarios.len();
    assert_eq!(
        json["line"],
        format!("1 pairs, {n} scenarios: 1 equivalent, 0 differ")
    );
    assert_eq!(json["summary"]["equivalent"], 1);
    let pair = &json["pairs"][0];
    assert_eq!(pair["pair"], "trace_id");
    assert_eq!(pair["equivalent"], true);
    let outcomes = pair["outcomes"].as_array().unwrap();
    assert!(outcomes.len() >= n);
    // Raw outcomes are there: the first scenario sends no x-trace-id, so the client got a generated one.
    let first = &outcomes[0]["wasm"];
    let trace = first["response_headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "x-trace-id")
        .map(|h| h[1].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(trace.len(), 32, "{first}");
}

#[test]
fn the_summary_line_is_printed_last() {
    let out = filterbench(
        &["verify", "--envoy", "--pair", "add_header"],
        &[],
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let last = stdout.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("1 pairs, ") && last.ends_with(" scenarios: 1 equivalent, 0 differ"),
        "{stdout}"
    );
    assert!(stdout.contains("add_header: equivalent"));
}
