//! README's main command, `filterbench all`, end to end on one pair (on a copy of the project):
//! every step runs, every result file is written, and the report shows the pair with measured
//! charts and a recommendation.

use std::time::Duration;

use crate::support::{filterbench, text, ProjectCopy};

#[test]
fn all_on_one_pair_measures_everything_and_renders_the_report() {
    let copy = ProjectCopy::new();
    let criterion = tempfile::tempdir().unwrap();
    let env = [
        ("FILTERBENCH_ROOT", copy.root().as_os_str()),
        ("CRITERION_HOME", criterion.path().as_os_str()),
    ];
    let out = filterbench(
        &["all", "--pair", "add_header"],
        &env,
        Duration::from_secs(900),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for step in ["[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"] {
        assert!(stdout.contains(step), "{step} missing:\n{stdout}");
    }
    assert!(
        stdout.contains("1 pairs, 16 scenarios: 1 equivalent, 0 differ"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "generated sequences in-process (1000 per pair, seed 1592652062): 1 agree, 0 differ"
        ),
        "{stdout}"
    );
    // The report step names the pair run, and counts the site's other pairs in one line.
    assert!(stdout.contains("  add_header "), "{stdout}");
    assert!(!stdout.contains("  header_auth "), "{stdout}");
    assert!(
        stdout.contains("and 11 other pair(s) on the site, not run now"),
        "{stdout}"
    );
    // Criterion's own report goes to a log, not between the steps.
    let log = copy.path("reports/results/bench/criterion.log");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("time:"),
        "criterion's output in the log: {logged}"
    );
    assert!(
        !stdout.contains("time:   ["),
        "criterion's output on screen:\n{stdout}"
    );
    assert!(stdout.contains("criterion's own output in"), "{stdout}");
    for file in [
        "reports/results/verify/envoy.json",
        "reports/results/verify/in_process.json",
        "reports/results/bench/summary.json",
        "reports/results/load/add_header.json",
        "reports/site/index.html",
        "reports/site/claims.html",
    ] {
        assert!(copy.path(file).is_file(), "{file} not written");
    }
    let index = copy.path("reports/site/index.html");
    assert!(
        stdout.contains(&format!("report: {}", index.display())),
        "{stdout}"
    );
    let index = std::fs::read_to_string(index).unwrap();
    assert!(
        index.contains(r#"data-pair="add_header" data-verdict=""#),
        "{index}"
    );
    let page = std::fs::read_to_string(copy.path("reports/site/pairs/add_header.html")).unwrap();
    for chart in [
        "latency",
        "throughput",
        "cpu",
        "memory",
        "inprocess",
        "tree",
    ] {
        assert!(
            page.contains(&format!(r#"data-chart="{chart}""#)),
            "no {chart} chart"
        );
    }
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(copy.path("reports/results/bench/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["profile"], "quick");
    assert_eq!(summary["pairs"][0]["pair"], "add_header");
    assert_eq!(summary["operations"].as_array().unwrap().len(), 5);
}
