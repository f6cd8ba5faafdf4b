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
