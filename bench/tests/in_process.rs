//! In-process equivalence: every pair's corpus through the Lua host and the Wasm host, and at
//! least 1,000 generated request sequences per pair (seeded from the pair's own corpus) diffed
//! Lua vs Wasm, with proptest shrinking a failure to a small readable case.

use filterbench_bench::harness::driver::{in_process_report, LoadedPair};
use filterbench_bench::harness::generate;
use filterbench_model::{project_root, Catalogue, Corpus};

/// Generated cases per pair (the issue asks for at least 1,000).
const CASES: u32 = 1000;

fn loaded() -> Vec<(LoadedPair, Corpus)> {
    loaded_from(Catalogue::load(&project_root()).unwrap())
}

/// The pairs with their Go twins (`target/filters-go/<pair>.wasm`) as the modules; None when
/// the build had no Go toolchain (its warning says what was missing).
fn loaded_go() -> Option<Vec<(LoadedPair, Corpus)>> {
    let dir = filterbench_model::go_wasm_dir();
    if !dir.join("add_header.wasm").is_file() {
        eprintln!("no Go twins in {}: skipped", dir.display());
        return None;
    }
    let mut catalogue = Catalogue::load(&project_root()).unwrap();
    for pair in &mut catalogue.pairs {
        pair.wasm = Some(dir.join(format!("{}.wasm", pair.name)));
    }
    Some(loaded_from(catalogue))
}

fn loaded_from(catalogue: Catalogue) -> Vec<(LoadedPair, Corpus)> {
    catalogue
        .pairs
        .iter()
        .map(|pair| {
            let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name).unwrap();
            (LoadedPair::load(&catalogue, pair).unwrap(), corpus)
        })
        .collect()
}

#[test]
fn every_pair_is_equivalent_in_process_on_its_corpus() {
    let mut failures = Vec::new();
    for (pair, corpus) in loaded() {
        let report = in_process_report(&pair, &corpus).unwrap();
        failures.extend(report.failure_lines());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn generated_requests_agree_lua_vs_wasm() {
    generated_requests_agree(loaded(), "wasm");
}

#[test]
fn generated_requests_agree_lua_vs_go() {
    if let Some(pairs) = loaded_go() {
        generated_requests_agree(pairs, "go-wasm");
    }
}

fn generated_requests_agree(pairs: Vec<(LoadedPair, Corpus)>, kind: &str) {
    for (pair, corpus) in pairs {
        match generate::check(&pair, &corpus, CASES, generate::DEFAULT_SEED, kind) {
            Ok(None) => {}
            Ok(Some(f)) => panic!(
                "{}: Lua and {kind} disagree on a generated request sequence:\n{}\n{:?}",
                pair.pair.name, f.reason, f.requests
            ),
            Err(e) => panic!("{}: {e}", pair.pair.name),
        }
    }
}

/// canary_tag with two more configurations, every user canary (`all`) or none (`none`), and a
/// corpus whose scenarios name them: each scenario runs under its configuration on both sides
/// (the expectations differ by configuration, so a side run under another one misses them), and
/// the report counts each configuration.
#[test]
fn each_scenario_runs_under_its_configuration() {
    let mut catalogue = Catalogue::load(&project_root()).unwrap();
    let pair = catalogue
        .pairs
        .iter_mut()
        .find(|p| p.name == "canary_tag")
        .unwrap();
    for (name, percent) in [("all", 100), ("none", 0)] {
        let mut table = toml::Table::new();
        table.insert("canary_percent".into(), toml::Value::Integer(percent));
        pair.configs.insert(name.into(), table);
    }
    let pair = pair.clone();
    let scenario = |name: &str, config: Option<&str>, lane: &str| {
        format!(
            "[[scenario]]\nname = \"{name}\"\n{}headers = [[\"x-user-id\", \"user-7\"]]\n\
             [scenario.expect]\nstatus = 200\nupstream_reached = true\n\
             request_headers = [[\"x-swimlane\", \"{lane}\"]]\n",
            config.map_or(String::new(), |c| format!("config = \"{c}\"\n"))
        )
    };
    let text = format!(
        "pair = \"canary_tag\"\n{}{}{}",
        scenario("canary", Some("all"), "canary"),
        scenario("production", Some("none"), "production"),
        scenario("canary_again", Some("all"), "canary"),
    );
    let path = std::path::Path::new("/configs/canary_tag.toml");
    let corpus = Corpus::parse(path, "canary_tag", &text).unwrap();
    let loaded = LoadedPair::load(&catalogue, &pair).unwrap();
    let report = in_process_report(&loaded, &corpus).unwrap();
    assert!(report.equivalent, "{}", report.failure_lines().join("\n"));
    let counts: Vec<(&str, usize, usize)> = report
        .configs
        .iter()
        .map(|c| (c.name.as_str(), c.scenarios, c.failed))
        .collect();
    assert_eq!(counts, [("default", 0, 0), ("all", 2, 0), ("none", 1, 0)]);
    assert_eq!(report.scenarios, 3);
    assert!(report.results[0].scenario.ends_with("[all]"));

    // The same corpus with every scenario under `default` (10%): a side configured with
    // `default` misses one configuration's expectations, which is what the check above rules out.
    let plain = Corpus::parse(
        path,
        "canary_tag",
        &text
            .replace("config = \"all\"\n", "")
            .replace("config = \"none\"\n", ""),
    )
    .unwrap();
    let report = in_process_report(&loaded, &plain).unwrap();
    assert!(
        report.failures.iter().any(|f| !f.lua_misses.is_empty()),
        "user-7 is either canary or production under default, not both"
    );

    // An unknown configuration is an error naming the file, the scenario and the known names.
    let bad = Corpus::parse(
        path,
        "canary_tag",
        &scenario("x", Some("nope"), "canary")
            .replace("[[scenario]]", "pair = \"canary_tag\"\n[[scenario]]"),
    )
    .unwrap();
    let e = in_process_report(&loaded, &bad).unwrap_err().to_string();
    assert!(
        e.contains("/configs/canary_tag.toml")
            && e.contains("scenario \"x\"")
            && e.contains("no configuration \"nope\" (known: default, all, none)"),
        "{e}"
    );
}
