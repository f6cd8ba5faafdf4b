//! The choice among the ways out on the pages: result sets whose load files carry every kind of
//! twin (Rust Wasm, Go Wasm, native module) in the same rounds, rendered with the shipped policy
//! and with policies that rule kinds out.

use std::path::Path;

use filterbench_model::results::*;
use filterbench_model::TwinKind;
use filterbench_reports::decision::{Policy, Verdict};
use filterbench_reports::site::{render, SiteInput};

use crate::fixtures::*;

const PAIR: &str = "three_ways";

/// [`load`] with a Go Wasm and a native twin in every round beside the Rust Wasm one: each adds
/// `go` and `native` microseconds over the round's baseline with its own jitter of `noise` per
/// round; each costs 1 MiB per worker more than Lua.
fn load_with_kinds(base: f64, lua: f64, wasm: f64, go: f64, native: f64, noise: f64) -> LoadRun {
    let mut run = load(PAIR, base, lua, wasm);
    for (kind, added, k) in [(TwinKind::GoWasm, go, 1.9), (TwinKind::Native, native, 2.7)] {
        let v = Variant::Twin(kind);
        run.variants.push(v);
        let slot = run.variants.len() - 1;
        for samples in [&mut run.rounds, &mut run.check_rounds] {
            let mut extra = Vec::new();
            for s in samples.iter().filter(|s| s.variant == Variant::Base) {
                let mut t = s.clone();
                t.variant = v;
                t.slot = slot;
                let cpu = s.envoy_cpu_us_per_request - base
                    + added
                    + noise * ((s.round as f64) * k).sin();
                t.envoy_cpu_us_per_request = cpu;
                t.p50_us = cpu * 3.0;
                t.p90_us = cpu * 4.5;
                t.p99_us = cpu * 9.0;
                extra.push(t);
            }
            samples.extend(extra);
        }
        for w in &mut run.by_workers {
            let lua = *w.memory_of(Variant::Lua).unwrap();
            w.memory.push(VariantMemory {
                variant: v,
                rss_bytes: lua.rss_bytes + u64::from(w.workers) * MIB,
                ..lua
            });
        }
    }
    run
}

/// One pair, all three twins proven in real Envoy, its load file; rendered with `policy`.
fn render_with(root: &Path, run: &LoadRun, policy: Policy) -> (SiteInput, String, String) {
    let results = root.join("results");
    write_json_atomically(&bench_summary_path(&results), &bench()).unwrap();
    let envoy = VerifyRecord {
        schema_version: VERIFY_SCHEMA,
        mode: "envoy".into(),
        envoy_version: Some("1.40.0".into()),
        created_ms: 1_709_251_200_000,
        pairs: TwinKind::ALL
            .into_iter()
            .map(|twin| VerifyPair {
                pair: PAIR.into(),
                twin,
                scenarios: 12,
                equivalent: true,
                configs: vec![],
                failures: vec![],
                served_by: None,
                notes: Vec::new(),
            })
            .collect(),
    };
    write_json_atomically(&verify_path(&results, "envoy"), &envoy).unwrap();
    write_json_atomically(&load_path(&results, PAIR), run).unwrap();
    let input = SiteInput {
        results_dir: results,
        results_shown: "reports/results".into(),
        pairs: vec![pair(PAIR, "Three ways out.", false, None)],
        policy,
        policy_source: "reports/policy.toml".into(),
        rendered_ms: 1_709_251_260_000,
    };
    let out = root.join("site");
    render(&input, &out).unwrap();
    let index = read(&out, "index.html");
    let page = read(&out, &format!("pairs/{PAIR}.html"));
    (input, index, page)
}

/// The `<tr ...>` opening tag of the pair page's ways-out row of `kind`.
fn way_row(page: &str, kind: TwinKind) -> &str {
    let start = page
        .find(&format!("<tr data-way=\"{}\"", kind.id()))
        .unwrap_or_else(|| panic!("no ways-out row for {kind}"));
    let rest = &page[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

/// Lua adds 50 us, Rust Wasm 20, Go Wasm 80 (dearer than Lua), native 8: native saves most.
fn native_saves() -> LoadRun {
    load_with_kinds(100.0, 150.0, 120.0, 180.0, 108.0, 0.3)
}

#[test]
fn a_native_module_that_saves_most_and_that_policy_allows_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let mut policy = Policy::default_policy();
    policy.deploy.native_custom_proxy = true;
    let (_, index, page) = render_with(dir.path(), &native_saves(), policy);
    assert_eq!(index_rows(&index), [(PAIR.into(), "migrate".into())]);
    assert!(
        index.contains("data-verdict=\"migrate\" data-way=\"native\""),
        "{index}"
    );
    assert!(index.contains("migrate to a native module"));
    // Under Istio the choice says what the proxy needs.
    assert!(index.contains("needs a custom istio-proxy image"));
    // One compact ways-out cell: every kind's figure and where the tree left it.
    for (kind, status) in [
        ("wasm", "allowed, dearer"),
        ("go-wasm", "not cheaper"),
        ("native", "chosen"),
    ] {
        let at = index
            .find(&format!("<span class=\"way\" data-way=\"{kind}\">"))
            .unwrap_or_else(|| panic!("no {kind} line in the index"));
        let line = &index[at..at + index[at..].find("</span>").unwrap()];
        assert!(line.contains(status), "{kind}: {line}");
    }
    // The pair page explains the choice.
    assert!(way_row(&page, TwinKind::Native).contains("data-fate=\"chosen\""));
    assert!(page.contains("The tree chooses the native module"));
    assert!(page.contains("EnvoyFilter patch + custom istio-proxy image"));
}

#[test]
fn isolation_required_rules_the_native_module_out_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut policy = Policy::default_policy();
    policy.deploy.native_custom_proxy = true;
    policy.deploy.isolation_required = true;
    let (_, index, page) = render_with(dir.path(), &native_saves(), policy);
    // The Rust Wasm twin saves too and is sandboxed: it is the way out.
    assert!(
        index.contains("data-verdict=\"migrate\" data-way=\"wasm\""),
        "{index}"
    );
    assert!(index.contains("migrate to Wasm"));
    assert!(!index.contains("needs a custom istio-proxy image"));
    let row = way_row(&page, TwinKind::Native);
    assert!(row.contains("data-fate=\"way_isolation\""), "{row}");
    assert!(row.contains("ruled out: no sandbox; required"), "{row}");
    // The path says why, with the numbers it was asked with.
    assert!(
        page.contains("native module: Does it meet the policy&#39;s isolation requirement?")
            || page.contains("native module: Does it meet the policy's isolation requirement?")
    );
    assert!(
        page.contains("shares Envoy&#39;s address space")
            || page.contains("shares Envoy's address space")
    );
    assert!(page.contains("isolation_required = true"));
    // The drawing names the twin at its end.
    let tree = chart(&page, "tree").unwrap();
    assert!(
        tree.contains("data-node=\"way_isolation\" data-taken=\"true\""),
        "{tree}"
    );
    assert!(tree.contains("[native module]"));
}

#[test]
fn a_go_twin_dearer_than_lua_is_not_chosen() {
    let dir = tempfile::tempdir().unwrap();
    // Only the Go twin saves nothing: Lua adds 50, Go 80. With a team that writes Go only, the
    // Rust kinds are out and Go is dearer: keep Lua.
    let mut policy = Policy::default_policy();
    policy.team.languages = Some(vec!["go".into()]);
    let (_, index, page) = render_with(dir.path(), &native_saves(), policy);
    assert_eq!(index_rows(&index), [(PAIR.into(), "keep_lua".into())]);
    let go = way_row(&page, TwinKind::GoWasm);
    assert!(go.contains("data-fate=\"way_not_cheaper\""), "{go}");
    assert!(
        go.contains("+29.") || go.contains("+30."),
        "Go minus Lua, CPU: {go}"
    );
    for kind in [TwinKind::Wasm, TwinKind::Native] {
        assert!(
            way_row(&page, kind).contains("data-fate=\"way_language\""),
            "{kind}"
        );
    }
    assert!(page.contains("Go Wasm minus Lua: +29.") || page.contains("Go Wasm minus Lua: +30."));
    assert!(page.contains("Lua is cheaper"));
}

#[test]
fn two_ways_inside_each_others_interval_are_too_close_to_call_between_them() {
    let dir = tempfile::tempdir().unwrap();
    // Rust Wasm adds 20 (jitter 0.3), native 19.8 with 3 us of jitter per round: both save 30 us
    // over Lua, and the 0.2 us between them is inside its interval.
    let run = load_with_kinds(100.0, 150.0, 120.0, 180.0, 119.8, 3.0);
    let mut policy = Policy::default_policy();
    policy.deploy.native_custom_proxy = true;
    let (input, index, page) = render_with(dir.path(), &run, policy);
    assert_eq!(
        index_rows(&index),
        [(PAIR.into(), "too_close_to_call".into())]
    );
    assert!(
        index.contains("too close to call between Rust Wasm and native module"),
        "{index}"
    );
    assert!(index.contains("the cheaper in"), "the split: {index}");
    assert!(page.contains("Two ways out remain and the rounds cannot tell which costs less"));
    for kind in [TwinKind::Wasm, TwinKind::Native] {
        assert!(way_row(&page, kind).contains("data-fate=\"way_candidate\""));
    }
    let summary = render(&input, &dir.path().join("again")).unwrap();
    assert_eq!(
        summary.pairs[0].call,
        Verdict::TooCloseBetween(TwinKind::Wasm, TwinKind::Native)
    );
}

/// The shipped policy (Istio, stock istio-proxy): a native module cannot be deployed, so the
/// fastest way out is left out with the reason, and the next one that saves is chosen.
#[test]
fn under_the_shipped_policy_a_native_module_needs_a_custom_proxy_and_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::default_policy();
    assert!(!policy.deploy.native_custom_proxy);
    let (_, index, page) = render_with(dir.path(), &native_saves(), policy);
    assert!(
        index.contains("data-verdict=\"migrate\" data-way=\"wasm\""),
        "{index}"
    );
    assert!(!way_row(&page, TwinKind::Native).contains("data-fate=\"chosen\""));
    assert!(page.contains("native_custom_proxy = false"), "{page}");
}
