//! `filterbench verify --save` and `filterbench report` on a copy of the project: a report from
//! partial results says what is missing; a corrupt or wrong-version result file is refused with
//! an error naming it, and the previous report stays as it was.

use std::time::Duration;

use crate::support::{filterbench, text, ProjectCopy};

#[test]
fn report_from_saved_results_refuses_bad_files_and_keeps_the_previous_site() {
    let copy = ProjectCopy::new();
    let env = [("FILTERBENCH_ROOT", copy.root().as_os_str())];
    let run = |args: &[&str]| filterbench(args, &env, Duration::from_secs(120));

    let out = run(&["verify", "--in-process", "--pair", "add_header", "--save"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let saved = copy.path("reports/results/verify/in_process.json");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(record["mode"], "in_process");
    assert_eq!(record["pairs"][0]["pair"], "add_header");
    assert_eq!(record["pairs"][0]["equivalent"], true);

    let out = run(&["report"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let index_path = copy.path("reports/site/index.html");
    assert!(
        stdout.contains(&format!("report: {}", index_path.display())),
        "{stdout}"
    );
    let index = std::fs::read_to_string(&index_path).unwrap();
    assert!(index.contains(r#"data-pair="add_header""#));
    // No measurements yet: the page says which file is missing.
    assert!(index.contains("class=\"missing\""), "{index}");
    assert!(copy.path("reports/site/pairs/add_header.html").is_file());

    let summary = copy.path("reports/results/bench/summary.json");
    std::fs::create_dir_all(summary.parent().unwrap()).unwrap();
    std::fs::write(&summary, "{ this is not json").unwrap();
    let out = run(&["report"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&summary.display().to_string()), "{stderr}");
    assert_eq!(std::fs::read_to_string(&index_path).unwrap(), index);
    std::fs::remove_file(&summary).unwrap();

    let load = copy.path("reports/results/load/add_header.json");
    std::fs::create_dir_all(load.parent().unwrap()).unwrap();
    std::fs::write(&load, r#"{"schema_version": 99, "pair": "add_header"}"#).unwrap();
    let out = run(&["report"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("add_header.json") && stderr.contains("schema_version 99"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&index_path).unwrap(), index);
    std::fs::remove_file(&load).unwrap();

    let out = run(&["report", "--policy", "/nonexistent/policy.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/policy.toml"));
}
