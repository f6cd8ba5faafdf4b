//! Fidelity: the in-process hosts tell the truth about Envoy. For every scenario of every pair,
//! the in-process Lua outcome equals real Envoy's Lua outcome and the in-process Wasm outcome
//! equals real Envoy's Wasm outcome (both normalised the same way).

use filterbench_bench::harness::driver::{run_corpus, LoadedPair};
use filterbench_envoy::envoy::find_envoy;
use filterbench_envoy::verify::{verify_pair, Rig};
use filterbench_model::outcome::{Diff, Outcome};
use filterbench_model::{project_root, Catalogue, Corpus};

use filterbench_bench::harness::lua::LuaFilter;
use filterbench_bench::harness::wasm::WasmFilter;
use filterbench_bench::harness::{Env, Exchange, FilterVm};
use filterbench_envoy::bootstrap::{bootstrap, ListenerFilter, ListenerSpec};
use filterbench_envoy::envoy::{Envoy, EnvoyOptions};
use filterbench_envoy::verify::replay;
use filterbench_model::catalogue::Normalise;
use filterbench_model::corpus::Scenario;

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

/// A proxy-wasm module (ABI 0.2.1, no imports) whose request-headers callback traps, as a Rust
/// filter's panic does.
const TRAPPING_MODULE: &str = r#"(module
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable))"#;

/// A Lua filter that raises in envoy_on_request.
const RAISING_SCRIPT: &str =
    "function envoy_on_request(handle)\n  error('raised by the fidelity test')\nend\n";

/// Envoy's answers to a broken filter, pinned in real Envoy, and the in-process hosts give the
/// same: a Lua runtime error is logged and the request goes on to the upstream (fail-open); a
/// Wasm trap answers 503 with an empty body, and the VM stays dead: every later request gets
/// 503 too (fail-closed, no recovery).
#[test]
fn broken_filters_get_envoys_answers_in_real_envoy_and_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("trapping.wasm");
    let binary = wat::parse_str(TRAPPING_MODULE).unwrap();
    std::fs::write(&module, &binary).unwrap();
    let rig = Rig::new(find_envoy().unwrap()).unwrap();
    let mut envoy = start_envoy(
        &rig,
        vec![
            (
                "lua",
                ListenerFilter::Lua {
                    source: RAISING_SCRIPT.into(),
                },
            ),
            ("wasm", ListenerFilter::Wasm { module }),
        ],
    );
    let mut lua_vm = LuaFilter::load("raising", RAISING_SCRIPT)
        .unwrap()
        .vm(Env::new(serde_json::json!({})))
        .unwrap();
    let wasm_vm_env = Env::new(serde_json::json!({}));
    let mut wasm_vm = WasmFilter::compile("trapping", &binary)
        .unwrap()
        .vm(wasm_vm_env.clone())
        .unwrap();

    let normalise = Normalise::default();
    for (k, (method, body)) in [("GET", None), ("POST", Some("a body")), ("GET", None)]
        .into_iter()
        .enumerate()
    {
        let scenario = scenario(serde_json::json!({
            "name": format!("request {k}"),
            "method": method,
            "path": "/broken",
            "headers": [["x-test", "1"]],
            "body": body,
        }));
        let exchange = Exchange::from_scenario(&scenario);
        let norm = |o: &Outcome| o.normalised(&normalise, &scenario.headers);

        let real = replay(
            &rig,
            envoy.listener("lua").unwrap(),
            &format!("lua{k}"),
            &scenario,
        );
        assert_eq!(real.status, 200, "request {k}: Lua fails open: {real:?}");
        assert!(real.upstream.is_some(), "request {k}: reached the upstream");
        let local = lua_vm.run(&exchange).unwrap();
        assert_eq!(
            Diff::between(&norm(&real), &norm(&local)).lines,
            vec![],
            "request {k}: Lua in-process = Envoy"
        );

        let real = replay(
            &rig,
            envoy.listener("wasm").unwrap(),
            &format!("wasm{k}"),
            &scenario,
        );
        assert_eq!(
            real.status, 503,
            "request {k}: a dead Wasm VM answers 503: {real:?}"
        );
        assert_eq!(real.body, "", "request {k}: with an empty body");
        assert!(
            real.upstream.is_none(),
            "request {k}: nothing reaches the upstream"
        );
        let local = wasm_vm.run(&exchange).unwrap();
        assert_eq!(
            Diff::between(&norm(&real), &norm(&local)).lines,
            vec![],
            "request {k}: Wasm in-process = Envoy"
        );
        envoy.check_alive().unwrap();
    }
    assert!(
        envoy.log().contains("raised by the fidelity test"),
        "Envoy logs the Lua error"
    );
    assert!(wasm_vm_env
        .logs
        .lock()
        .unwrap()
        .iter()
        .any(|(_, m)| m.contains("request_headers") && m.contains("unreachable")));
    envoy.stop();
}

/// An Envoy with these listeners (name, filter), configured with `{}`.
fn start_envoy(rig: &Rig, listeners: Vec<(&str, ListenerFilter)>) -> Envoy {
    let listeners: Vec<ListenerSpec> = listeners
        .into_iter()
        .map(|(name, filter)| ListenerSpec {
            name: name.into(),
            pair: "fidelity".into(),
            config: serde_json::json!({}),
            filter,
        })
        .collect();
    Envoy::start(
        &rig.envoy_bin,
        &bootstrap(&listeners, rig.services()),
        &EnvoyOptions::default(),
    )
    .unwrap()
}

/// A scenario from JSON (no expectations: these tests assert on outcomes themselves).
fn scenario(mut value: serde_json::Value) -> Scenario {
    value["expect"] = serde_json::json!({"status": 0, "upstream_reached": false});
    serde_json::from_value(value).unwrap()
}

/// importPublicKey / verifySignature (bench/testdata/signatures.lua: fixed RSA, ECDSA P-256 and
/// Ed25519 keys and signatures) give the same answers in real Envoy and in-process, and those
/// answers are pinned here.
#[test]
fn public_key_signature_checks_equal_real_envoy() {
    let source =
        std::fs::read_to_string(project_root().join("bench/testdata/signatures.lua")).unwrap();
    let rig = Rig::new(find_envoy().unwrap()).unwrap();
    let envoy = start_envoy(
        &rig,
        vec![(
            "lua",
            ListenerFilter::Lua {
                source: source.clone(),
            },
        )],
    );
    let mut vm = LuaFilter::load("signatures", &source)
        .unwrap()
        .vm(Env::new(serde_json::json!({})))
        .unwrap();
    let verify_failed = "false Failed to verify digest. Error code: 0";
    let cases = [
        ("rsa", "true nil"),
        ("rsa_upper_case_hash", "true nil"),
        ("rsa_other_hash", verify_failed),
        ("rsa_tampered_text", verify_failed),
        ("rsa_md5", "false md5 is not supported."),
        ("ec", "true nil"),
        ("ec_tampered_text", verify_failed),
        ("ec_rsa_signature", verify_failed),
        ("ed25519", "false Failed to initialize digest verify."),
        ("not_a_key", "no key"),
    ];
    for (case, want) in cases {
        let scenario = scenario(serde_json::json!({
            "name": case,
            "headers": [["x-case", case]],
        }));
        let real = replay(&rig, envoy.listener("lua").unwrap(), case, &scenario);
        let local = vm.run(&Exchange::from_scenario(&scenario)).unwrap();
        let result = |o: &Outcome| {
            o.response_headers
                .iter()
                .find(|(n, _)| n == "x-result")
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            result(&real).as_deref(),
            Some(want),
            "{case}: Envoy: {real:?}"
        );
        assert_eq!(result(&local).as_deref(), Some(want), "{case}: in-process");
    }
}
