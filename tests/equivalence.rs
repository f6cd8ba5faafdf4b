//! Every pair's corpus through real Envoy: the Lua and Wasm listeners must agree on every
//! scenario and meet every expectation; every twin must load on its own.

use std::sync::OnceLock;

use filterbench_envoy::bootstrap::ListenerFilter;
use filterbench_envoy::envoy::{find_envoy, Envoy, EnvoyOptions};
use filterbench_envoy::verify::{pair_listeners, verify_pair, Rig};
use filterbench_model::equivalence::Summary;
use filterbench_model::{project_root, Catalogue};

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        Rig::new(find_envoy().expect("an Envoy (ENVOY_BIN or the project's venv)")).unwrap()
    })
}

#[test]
fn every_pair_is_equivalent_in_real_envoy() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    assert_eq!(
        catalogue.pairs.len(),
        12,
        "the design's catalogue has 12 pairs"
    );
    let mut reports = Vec::new();
    for pair in &catalogue.pairs {
        let report = verify_pair(rig(), &catalogue, pair).unwrap();
        assert!(
            report.scenarios >= 8,
            "{}: only {} scenarios (at least 8 wanted)",
            pair.name,
            report.scenarios
        );
        reports.push(report);
    }
    let failures: Vec<String> = reports.iter().flat_map(|r| r.failure_lines()).collect();
    let summary = Summary::of(&reports);
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        summary.line()
    );
    assert_eq!(summary.differ, 0);
}

#[test]
fn every_twin_loads_in_envoy_on_its_own() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    let rig = rig();
    for pair in &catalogue.pairs {
        for spec in pair_listeners(&catalogue, pair).unwrap() {
            let what = match &spec.filter {
                ListenerFilter::Lua { .. } => catalogue.lua_path(&pair.name),
                _ => catalogue.wasm_module_path(&pair.name),
            };
            let bootstrap = filterbench_envoy::bootstrap::bootstrap(
                std::slice::from_ref(&spec),
                rig.services(),
            );
            let envoy = Envoy::start(&rig.envoy_bin, &bootstrap, &EnvoyOptions::default())
                .unwrap_or_else(|e| panic!("{}: does not load: {e}", what.display()));
            assert!(
                envoy.listener(&spec.name).is_some(),
                "{}: no listener",
                what.display()
            );
        }
    }
}
