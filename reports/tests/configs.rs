//! A pair with several configurations: each one's load run (`load/<pair>.config-<NAME>.json`)
//! read beside `default`'s, the tree decided under each, the per-configuration table on the pair
//! page, and the flag on the index and the page when another configuration's answer differs
//! from `default`'s (the headline).

use filterbench_model::results::{load_path, load_path_of, write_json_atomically};
use filterbench_reports::site::{render, SiteInput};

use crate::fixtures::{load, read, write_all};

/// [`write_all`] with `jwt_auth` given a second configuration, `admin`.
fn with_admin(root: &std::path::Path) -> SiteInput {
    let mut input = write_all(root);
    let jwt = input
        .pairs
        .iter_mut()
        .find(|p| p.name == "jwt_auth")
        .unwrap();
    jwt.configs
        .insert("admin".into(), toml::from_str("strict = true").unwrap());
    input
}

/// jwt_auth's run under `admin`: `lua` and `wasm` added over a baseline of 100 us.
fn write_admin(input: &SiteInput, lua: f64, wasm: f64) {
    let mut run = load("jwt_auth", 100.0, lua, wasm);
    run.config = Some("admin".into());
    write_json_atomically(&load_path_of(&input.results_dir, "jwt_auth", "admin"), &run).unwrap();
}

fn row<'a>(index: &'a str, pair: &str) -> &'a str {
    let start = index.find(&format!("<tr data-pair=\"{pair}\"")).unwrap();
    let end = start + index[start..].find("</tr>").unwrap();
    &index[start..end]
}

#[test]
fn another_configurations_different_answer_is_flagged_on_the_index_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let input = with_admin(dir.path());
    // `default`: Wasm cuts 80% of what Lua adds (migrate). `admin`: Wasm costs more, and
    // jwt_auth processes data (migrate only if a capability is needed).
    write_admin(&input, 110.0, 118.0);
    let out = dir.path().join("site");
    let summary = render(&input, &out).unwrap();

    let index = read(&out, "index.html");
    let jwt = row(&index, "jwt_auth");
    // The headline is `default`'s; the flag names the configuration that differs and its call.
    assert!(jwt.contains("data-verdict=\"migrate\""), "{jwt}");
    assert!(jwt.contains("data-configs=\"differ\""), "{jwt}");
    assert!(
        jwt.contains(
            "the answer depends on the configuration: migrate only if a capability is needed \
         under `admin`"
        ),
        "{jwt}"
    );
    assert!(!row(&index, "add_header").contains("data-configs"));
    let outcome = summary.pairs.iter().find(|p| p.name == "jwt_auth").unwrap();
    assert_eq!(
        outcome.configs_differ.as_deref(),
        Some(
            "the answer depends on the configuration: migrate only if a capability is needed \
         under `admin`"
        )
    );

    let page = read(&out, "pairs/jwt_auth.html");
    assert!(
        page.contains("<p class=\"flag\" data-configs=\"differ\">"),
        "{page}"
    );
    assert!(page.contains("Measured under each configuration"), "{page}");
    // Each configuration's row: its rounds, Lua minus baseline and Wasm minus Lua with their
    // intervals, and its answer.
    for (config, lua, verdict) in [
        ("default", 50.0, "migrate"),
        ("admin", 10.0, "migrate_if_capability_needed"),
    ] {
        let start = page
            .find(&format!("<tr data-config=\"{config}\">"))
            .unwrap_or_else(|| panic!("no row for {config}: {page}"));
        let tr = &page[start..start + page[start..].find("</tr>").unwrap()];
        // Cells: name, rounds, Lua - baseline, Wasm - Lua, answer.
        let cells: Vec<&str> = tr.split("<td").skip(1).collect();
        assert_eq!(cells.len(), 5, "{tr}");
        let median: f64 = cells[2]
            .split_once('>')
            .unwrap()
            .1
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((median - lua).abs() < 1.0, "Lua - baseline {median}: {tr}");
        assert!(tr.contains(" ["), "an interval: {tr}");
        assert!(tr.contains(&format!("verdict-{verdict}")), "{tr}");
    }
}

#[test]
fn the_same_answer_under_each_configuration_is_said_and_not_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let input = with_admin(dir.path());
    write_admin(&input, 150.0, 110.0);
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let index = read(&out, "index.html");
    assert!(!row(&index, "jwt_auth").contains("data-configs"));
    let page = read(&out, "pairs/jwt_auth.html");
    assert!(!page.contains("data-configs=\"differ\""), "{page}");
    assert!(
        page.contains("the same under each of the 2 configurations measured"),
        "{page}"
    );
}

#[test]
fn an_unmeasured_configuration_names_the_command_and_a_misfiled_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = with_admin(dir.path());
    let out = dir.path().join("site");
    render(&input, &out).unwrap();
    let page = read(&out, "pairs/jwt_auth.html");
    assert!(
        page.contains("not measured: `filterbench load --pair jwt_auth --config admin`"),
        "{page}"
    );
    assert!(!page.contains("data-configs=\"differ\""), "{page}");
    // `default`'s file is as before: no configuration field in it (older readers read it).
    let text = std::fs::read_to_string(load_path(&input.results_dir, "jwt_auth")).unwrap();
    assert!(!text.contains("\"config\""), "{text}");
    // A file under `admin`'s name that holds `default`'s run is refused, naming the file.
    let path = load_path_of(&input.results_dir, "jwt_auth", "admin");
    write_json_atomically(&path, &load("jwt_auth", 100.0, 110.0, 118.0)).unwrap();
    let err = render(&input, &out).unwrap_err().to_string();
    assert!(err.contains("jwt_auth.config-admin.json"), "{err}");
    assert!(
        err.contains("under `default`, expected `jwt_auth` under `admin`"),
        "{err}"
    );
}
