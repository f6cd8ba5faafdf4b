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

/// `report --out DIR` (and `all --out DIR`) never deletes a directory it did not write: one line
/// naming it, exit 2, untouched; `--force` moves it to a named backup first.
#[test]
fn report_out_never_replaces_a_directory_it_did_not_write() {
    let copy = ProjectCopy::new();
    let env = [("FILTERBENCH_ROOT", copy.root().as_os_str())];
    let run = |args: &[&str]| filterbench(args, &env, Duration::from_secs(120));
    let one_line_refusal = |out: &std::process::Output, dir: &std::path::Path| {
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&dir.display().to_string()), "{stderr}");
        assert!(
            stderr.contains("not a report filterbench wrote"),
            "{stderr}"
        );
    };

    let notes = copy.path("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("notes.txt"), "mine").unwrap();
    let results = copy.path("reports/results");
    std::fs::create_dir_all(results.join("verify")).unwrap();
    let out = run(&["verify", "--in-process", "--pair", "add_header", "--save"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let saved = std::fs::read_to_string(results.join("verify/in_process.json")).unwrap();
    // A directory of notes, the results themselves, the project (a workspace is the same).
    for dir in [notes.clone(), results.clone(), copy.root().to_path_buf()] {
        let out = run(&["report", "--out", dir.to_str().unwrap()]);
        one_line_refusal(&out, &dir);
    }
    let out = run(&[
        "all",
        "--pair",
        "add_header",
        "--out",
        notes.to_str().unwrap(),
    ]);
    one_line_refusal(&out, &notes);
    assert_eq!(
        std::fs::read_to_string(notes.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(results.join("verify/in_process.json")).unwrap(),
        saved
    );
    let leftovers: Vec<String> = std::fs::read_dir(copy.root())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // --force: the notes are kept beside, under a name the output gives.
    let out = run(&["report", "--out", notes.to_str().unwrap(), "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let backup = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("kept what was at {} as ", notes.display())))
        .and_then(|rest| rest.strip_suffix(" (--force)"))
        .unwrap_or_else(|| panic!("no backup named in {stdout}"));
    assert!(backup.contains("notes.bak-"), "{backup}");
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(backup).join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(notes.join("index.html").is_file());
    assert!(!notes.join("notes.txt").exists());

    // A site this tool wrote is replaced as before, no backup.
    let out = run(&["report", "--out", notes.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("kept what was at"));
}
