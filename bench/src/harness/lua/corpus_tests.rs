//! The corpus through the Lua host: every scenario of every pair, one VM per pair (state carries
//! across scenarios, as in one Envoy worker), each final send checked against its expectations
//! (verified against real Envoy). Plus a rough timing of one exchange (`--nocapture` prints it).

use super::*;
use crate::harness::{corpus_responder, Clock, Limits, LogLevel, Random};
use filterbench_model::corpus::Corpus;
use filterbench_model::outcome::check_expect;
use filterbench_model::{now_ms, project_root, Catalogue};

fn corpus_env(pair: &filterbench_model::Pair, corpus: &Corpus) -> Env {
    Env {
        clock: Clock::real(),
        random: Random::seeded(0x5EED),
        responder: corpus_responder(corpus),
        logs: Default::default(),
        limits: Limits::default(),
        config: pair.config_json(),
        config_raw: None,
    }
}

/// Runs a pair's corpus; returns one line per unmet expectation.
fn run_pair(
    catalogue: &Catalogue,
    pair: &filterbench_model::Pair,
    limits: Limits,
) -> (usize, Vec<String>) {
    let corpus = Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name).unwrap();
    let source = catalogue.lua_source(&pair.name).unwrap();
    let filter = LuaFilter::load(&pair.name, &source).unwrap();
    let mut env = corpus_env(pair, &corpus);
    env.limits = limits;
    let mut vm = filter.vm(env.clone()).unwrap();
    let mut misses = Vec::new();
    let mut checked = 0;
    for scenario in &corpus.scenarios {
        let exchange = Exchange::from_scenario(scenario);
        for k in 0..=scenario.before {
            env.logs.lock().unwrap().clear();
            let sent = now_ms();
            let outcome = match vm.run(&exchange) {
                Ok(o) => o,
                Err(e) => {
                    misses.push(format!(
                        "{}/{}#{k}: filter error {e}",
                        pair.name, scenario.name
                    ));
                    continue;
                }
            };
            let errors: Vec<String> = env
                .logs
                .lock()
                .unwrap()
                .iter()
                .filter(|(l, _)| *l >= LogLevel::Error)
                .map(|(_, m)| m.clone())
                .collect();
            if !errors.is_empty() {
                misses.push(format!(
                    "{}/{}#{k}: script errors {errors:?}",
                    pair.name, scenario.name
                ));
            }
            if k < scenario.before {
                continue;
            }
            checked += 1;
            for miss in check_expect(&scenario.expect, &outcome, sent) {
                misses.push(format!("{}/{}: {miss}", pair.name, scenario.name));
            }
            let logs = env.logs.lock().unwrap().clone();
            for want in &scenario.expect.logs {
                if !logs.iter().any(|(_, m)| m.contains(want.as_str())) {
                    misses.push(format!(
                        "{}/{}: log {want:?} missing in {logs:?}",
                        pair.name, scenario.name
                    ));
                }
            }
            if pair.name == "path_log" {
                let want = format!("path_log: {}", scenario.path);
                if !logs.iter().any(|(l, m)| *l == LogLevel::Info && *m == want) {
                    misses.push(format!(
                        "{}/{}: no Info log {want:?} in {logs:?}",
                        pair.name, scenario.name
                    ));
                }
            }
        }
    }
    (checked, misses)
}

#[test]
fn corpus_passes_on_the_lua_host() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    assert_eq!(catalogue.pairs.len(), 12);
    let mut misses = Vec::new();
    for pair in &catalogue.pairs {
        let (checked, m) = run_pair(&catalogue, pair, Limits::default());
        println!(
            "{:16} {checked:3} scenarios {}",
            pair.name,
            if m.is_empty() {
                "ok".to_string()
            } else {
                format!("{} misses", m.len())
            }
        );
        misses.extend(m);
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

/// The same with the JIT on and no budget (the benchmark configuration).
#[test]
fn corpus_passes_with_the_jit() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    let limits = Limits {
        instructions: UNLIMITED_INSTRUCTIONS,
        ..Limits::default()
    };
    let mut misses = Vec::new();
    for pair in &catalogue.pairs {
        misses.extend(run_pair(&catalogue, pair, limits).1);
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
