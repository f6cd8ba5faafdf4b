//! The published report (`reports/published/`): `filterbench report` renders the same site from
//! the committed result files and policy, and no page names a path of the machine it was made on.
//! When the renderer changes on purpose, render the published site again (the command is in
//! `reports/published/README.md`) and commit it with the change.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{filterbench, text};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.ends_with(filterbench_model::keep::SITE_MARKER) {
                // Not a page: the mark of a site this tool wrote (see `report --out`).
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The page without the one thing that changes with every render: "Rendered <time> from".
fn without_render_time(page: &str) -> String {
    match (page.find("Rendered "), page.find(" from reports/")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &page[..a], &page[b..]),
        _ => page.to_string(),
    }
}

#[test]
fn the_published_site_is_what_report_renders_from_the_published_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let published = root.join("reports/published");
    let out = tempfile::tempdir().unwrap();
    let site = out.path().join("site");
    let results = published.join("results");
    let policy = published.join("policy.toml");
    let run = filterbench(
        &[
            "report",
            "--results",
            results.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--out",
            site.to_str().unwrap(),
        ],
        &[],
        Duration::from_secs(300),
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let committed = published.join("site");
    let pages = files_under(&committed);
    assert!(
        pages.len() >= 14,
        "index, claims and 12 pair pages: {pages:?}"
    );
    assert_eq!(pages, files_under(&site), "the same files");
    for page in &pages {
        let old = std::fs::read_to_string(committed.join(page)).unwrap();
        let new = std::fs::read_to_string(site.join(page)).unwrap();
        assert!(
            without_render_time(&old) == without_render_time(&new),
            "reports/published/site/{} differs from what `filterbench report` renders from \
             reports/published/results: render it again (reports/published/README.md)",
            page.display()
        );
        for machine_path in ["/root/", "/home/", "/tmp/", "/work/"] {
            assert!(
                !old.contains(machine_path),
                "{} names a path of the machine ({machine_path})",
                page.display()
            );
        }
    }
    let index = std::fs::read_to_string(committed.join("index.html")).unwrap();
    assert!(
        index.contains("reports/published/results"),
        "the index names its results"
    );
}
