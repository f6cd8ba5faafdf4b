//! Fidelity: the in-process hosts tell the truth about Envoy. For every scenario of every pair,
//! the in-process Lua outcome equals real Envoy's Lua outcome and the in-process Wasm outcome
//! equals real Envoy's Wasm outcome (both normalised the same way).

use filterbench_bench::harness::driver::{run_corpus, LoadedPair};
use filterbench_bench::outcome::{Diff, Outcome};
use filterbench_bench::{project_root, Catalogue, Corpus};
use filterbench_loadgen::envoy::find_envoy;
use filterbench_loadgen::verify::{verify_pair, Rig};

#[test]
fn in_process_outcomes_equal_real_envoy_outcomes() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    let rig = Rig::new(find_envoy().unwrap()).unwrap();
    let mut failures = Vec::new();
    let mut compared = 0;
    for pair in &catalogue.pairs {
        let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name).unwrap();
        let mut real = verify_pair(&rig, &catalogue, pair).unwrap();
        // Pair-level checks (the counters comparison) are not scenario outcomes.
        real.results.retain(|r| !r.scenario.starts_with('('));
        let loaded = LoadedPair::load(&catalogue, pair).unwrap();
        let local = run_corpus(&loaded, &corpus).unwrap();
        assert_eq!(
            real.results.len(),
            local.len(),
            "{}: same number of requests",
            pair.name
        );
        let sent_headers = |label: &str| {
            let name = label.split('#').next().unwrap();
            corpus
                .scenarios
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.headers.clone())
                .unwrap_or_default()
        };
        for (r, l) in real.results.iter().zip(&local) {
            assert_eq!(r.scenario, l.scenario);
            let sent = sent_headers(&r.scenario);
            let norm = |o: &Outcome| o.normalised(&pair.normalise, &sent);
            for (side, envoy, in_process) in [("lua", &r.lua, &l.lua), ("wasm", &r.wasm, &l.wasm)] {
                let Ok(in_process) = in_process else {
                    failures.push(format!(
                        "{} / {} / {side}: in-process filter error",
                        pair.name, r.scenario
                    ));
                    continue;
                };
                compared += 1;
                for d in Diff::between(&norm(envoy), &norm(in_process)).lines {
                    failures.push(format!(
                        "{} / {} / {side}: {}: envoy {} | in-process {}",
                        pair.name, r.scenario, d.field, d.left, d.right
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences over {compared} outcomes:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
