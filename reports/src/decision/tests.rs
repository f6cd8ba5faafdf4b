use super::*;
use filterbench_model::TwinKind;

/// Rounds whose base CPU drifts like a noisy machine (±20% between rounds) while the filters add
/// `lua` and `wasm` microseconds with per-round jitter of `noise`.
fn rounds(n: usize, lua: f64, wasm: Option<f64>, noise: f64) -> PairedRounds {
    let mut r = PairedRounds {
        rate_rps: 4000.0,
        ..PairedRounds::default()
    };
    for i in 0..n {
        // Deterministic "noise": a fixed pseudo-random walk.
        let base = 120.0 * (1.0 + 0.2 * ((i as f64 * 1.7).sin()));
        let j = |k: f64| noise * ((i as f64 * k).sin());
        let t = Triple {
            base: Some(base),
            lua: Some(base + lua + j(2.3)),
            wasm: wasm.map(|w| base + w + j(3.1)),
            ..Triple::default()
        };
        r.cpu_us.push(t);
        let lat = Triple {
            base: Some(400.0 + base),
            lua: Some(400.0 + base + lua + j(1.1)),
            wasm: wasm.map(|w| 400.0 + base + w + j(0.7)),
            ..Triple::default()
        };
        r.p50_us.push(lat);
        r.p90_us.push(lat);
        r.p99_us.push(lat);
    }
    r
}

fn evidence(r: Option<PairedRounds>) -> Evidence {
    Evidence {
        equivalent: Some(true),
        equivalence_source: Some("real Envoy".into()),
        rounds: r,
        wasm_memory: Some(crate::decision::MemoryFit::constant(2.0)),
        traits: Traits {
            external_call: false,
            data_processing: false,
            custom_metrics: false,
            state: false,
            change_frequency: ChangeFrequency::Low,
        },
        capability_gap: None,
        other_twins: vec![],
    }
}

/// The shipped policy, the team knowing Rust (and Go) or neither.
fn policy(knows_rust: bool) -> Policy {
    let mut p = Policy::default_policy();
    p.team.languages = Some(if knows_rust {
        vec!["rust".into(), "go".into()]
    } else {
        vec![]
    });
    p
}

fn step<'a>(r: &'a Recommendation, id: &str) -> &'a Step {
    r.path
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id} in {:?}", r.path))
}

#[test]
fn the_shipped_policy_parses() {
    let p = Policy::default_policy();
    assert!(p.confidence.min_share > 0.5 && p.confidence.min_share <= 1.0);
    assert!(p.measurement.min_rounds >= 5);
}

#[test]
fn a_difference_inside_the_noise_is_no_measurable_difference() {
    // Wasm 3 us cheaper than Lua, with 15 us of jitter per round: inside the noise.
    let r = decide(
        &evidence(Some(rounds(10, 40.0, Some(37.0), 15.0))),
        &policy(true),
    );
    assert_eq!(step(&r, "way_cheaper").answer, "no measurable difference");
    assert_eq!(r.leaf, Leaf::NotCheaperSimple);
    assert_eq!(r.verdict, Verdict::KeepLua);
    let costs = r.costs.as_ref().unwrap();
    let d = costs.wasm_minus_lua_cpu_us.unwrap();
    assert!(d.low < 0.0 && d.high > 0.0 || d.high - d.low > 5.0, "{d:?}");
}

#[test]
fn a_clear_saving_says_wasm_is_cheaper_and_migrates() {
    let r = decide(
        &evidence(Some(rounds(10, 60.0, Some(20.0), 3.0))),
        &policy(true),
    );
    assert_eq!(step(&r, "way_cheaper").answer, "yes");
    assert_eq!(r.leaf, Leaf::CheaperFits);
    assert_eq!(r.verdict, Verdict::Migrate(TwinKind::Wasm));
    assert_eq!(r.call, Verdict::Migrate(TwinKind::Wasm));
    assert!(r.confidence.as_ref().unwrap().share >= 0.9);
}

#[test]
fn a_clear_extra_cost_says_lua_is_cheaper() {
    let r = decide(
        &evidence(Some(rounds(10, 20.0, Some(60.0), 3.0))),
        &policy(true),
    );
    assert_eq!(step(&r, "way_cheaper").answer, "no");
    assert_eq!(r.verdict, Verdict::KeepLua);
    let mut e = evidence(Some(rounds(10, 20.0, Some(60.0), 3.0)));
    e.traits.data_processing = true;
    assert_eq!(decide(&e, &policy(true)).leaf, Leaf::NotCheaperComplex);
}

#[test]
fn a_cheap_lua_filter_keeps_lua_before_any_twin_is_weighed() {
    let r = decide(
        &evidence(Some(rounds(10, 1.0, Some(0.5), 0.5))),
        &policy(true),
    );
    assert_eq!(step(&r, "lua_matters").answer, "no");
    assert_eq!(r.leaf, Leaf::LuaCheap);
    assert!(r.path.iter().all(|s| s.id != "way_cheaper"));
}

#[test]
fn a_lua_only_run_answers_whether_lua_matters_and_stops_at_the_missing_twin() {
    let r = decide(&evidence(Some(rounds(8, 50.0, None, 2.0))), &policy(true));
    assert_eq!(step(&r, "lua_matters").answer, "yes");
    assert_eq!(r.leaf, Leaf::NoWasmMeasurements);
    assert_eq!(r.verdict, Verdict::KeepLua);
}

/// Evidence of a pair without a proven twin, measured Lua-only (no Wasm sample in any round).
fn lua_only(lua: f64, noise: f64) -> Evidence {
    Evidence {
        equivalent: None,
        equivalence_source: None,
        wasm_memory: None,
        ..evidence(Some(rounds(10, lua, None, noise)))
    }
}

/// No Wasm figure on the path: the tree stopped at the Lua-only question.
fn stops_at_the_lua_side(r: &Recommendation) {
    let ids: Vec<&str> = r.path.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["equivalent", "lua_matters_without_twin"], "{ids:?}");
    let c = r.costs.as_ref().unwrap();
    assert!(c.lua_cpu_us.is_some());
    assert_eq!((c.wasm_cpu_us, c.wasm_minus_lua_cpu_us), (None, None));
}

#[test]
fn a_clearly_cheap_lua_filter_keeps_lua_without_a_twin() {
    // Lua adds 1 us of CPU (±0.5 per round): the whole interval lies below the 5 us bar, and
    // its p50 (1 us) below the 20 us one.
    let r = decide(&lua_only(1.0, 0.5), &policy(true));
    stops_at_the_lua_side(&r);
    let s = step(&r, "lua_matters_without_twin");
    assert_eq!(s.answer, "no");
    assert!(
        s.evidence.contains("both whole intervals lie below"),
        "{s:?}"
    );
    assert_eq!(r.leaf, Leaf::LuaCheapWithoutTwin);
    assert_eq!((r.verdict, r.call), (Verdict::KeepLua, Verdict::KeepLua));
    assert!(r.confidence.as_ref().unwrap().share >= 0.9);
    assert!(
        r.reasons[1].contains("no Wasm twin needs to be written"),
        "{r:?}"
    );
}

#[test]
fn a_clearly_costly_lua_filter_says_to_write_and_prove_the_twin() {
    // Lua adds 50 us (±2): wholly above the bar. No Wasm comparison is made up.
    let r = decide(&lua_only(50.0, 2.0), &policy(true));
    stops_at_the_lua_side(&r);
    assert_eq!(step(&r, "lua_matters_without_twin").answer, "yes");
    assert_eq!(r.leaf, Leaf::TwinNeeded);
    assert_eq!(
        (r.verdict, r.call),
        (Verdict::ProveTwin, Verdict::ProveTwin)
    );
    assert!(r.confidence.as_ref().unwrap().share >= 0.9);
    assert!(r.reasons.iter().any(|x| x.contains("filterbench verify")));
    // A twin that differs is no better than none.
    let mut e = lua_only(50.0, 2.0);
    e.equivalent = Some(false);
    assert_eq!(decide(&e, &policy(true)).leaf, Leaf::TwinNeeded);
}

#[test]
fn a_lua_cost_straddling_the_bar_is_too_close_to_call() {
    // Lua adds 5 us ± 3 per round: the interval reaches across the 5 us bar.
    let e = lua_only(5.0, 3.0);
    let r = decide(&e, &policy(true));
    stops_at_the_lua_side(&r);
    let cpu = r.costs.as_ref().unwrap().lua_cpu_us.unwrap();
    assert!(cpu.low < 5.0 && cpu.high > 5.0, "straddles: {cpu:?}");
    assert_eq!(
        step(&r, "lua_matters_without_twin").answer,
        "no measurable difference"
    );
    assert_eq!(r.leaf, Leaf::LuaCostUnclear);
    assert_eq!(r.call, Verdict::TooCloseToCall);
    assert!(r.reasons.iter().any(|x| x.contains("Too close to call")));
    // Not a difference read inside its own interval: the same median with a tight interval
    // below the bar keeps Lua.
    let tight = decide(&lua_only(4.0, 0.2), &policy(true));
    assert_eq!(tight.leaf, Leaf::LuaCheapWithoutTwin);
}

#[test]
fn without_a_twin_or_rounds_the_twin_is_unproven() {
    let mut e = lua_only(50.0, 2.0);
    e.rounds = None;
    let r = decide(&e, &policy(true));
    assert_eq!(r.leaf, Leaf::Unproven);
    assert_eq!(step(&r, "lua_matters_without_twin").answer, "not measured");
    assert!(step(&r, "lua_matters_without_twin")
        .evidence
        .contains("filterbench load --lua-only"));
}

#[test]
fn a_saving_that_straddles_its_threshold_is_too_close_to_call_or_no_difference() {
    // A saving near the policy bar: the verdict must not be a confident "migrate".
    let p = policy(true);
    let r = decide(&evidence(Some(rounds(8, 40.0, Some(31.0), 4.0))), &p);
    assert!(
        r.call == Verdict::TooCloseToCall || r.verdict == Verdict::KeepLua,
        "{:?} {:?}",
        r.call,
        r.confidence
    );
    if r.call == Verdict::TooCloseToCall {
        assert!(
            r.reasons[0].contains("Too close to call"),
            "{:?}",
            r.reasons
        );
    }
}

#[test]
fn the_same_rounds_give_the_same_recommendation() {
    let e = evidence(Some(rounds(9, 40.0, Some(30.0), 6.0)));
    assert_eq!(decide(&e, &policy(true)), decide(&e, &policy(true)));
}

#[test]
fn unproven_capability_and_missing_numbers() {
    let mut e = evidence(None);
    e.equivalent = Some(false);
    assert_eq!(decide(&e, &policy(true)).leaf, Leaf::Unproven);
    let mut e = evidence(None);
    e.capability_gap = Some("no stats API".into());
    assert_eq!(decide(&e, &policy(true)).leaf, Leaf::CapabilityRust);
    assert_eq!(decide(&e, &policy(false)).leaf, Leaf::CapabilityNoRust);
    let r = decide(&evidence(None), &policy(true));
    assert_eq!(r.leaf, Leaf::NoMeasurements);
    assert_eq!(r.confidence, None);
}

#[test]
fn memory_and_team_gate_a_cheaper_wasm() {
    // Before twins of several kinds these were three leaves (cheaper but memory, memory
    // unknown, no Rust); now the twin's fate says which and the leaf is one: keep Lua.
    let mut e = evidence(Some(rounds(10, 60.0, Some(20.0), 3.0)));
    e.wasm_memory = Some(crate::decision::MemoryFit::constant(40.0));
    let r = decide(&e, &policy(true));
    assert_eq!(
        (r.leaf, r.call, r.ways.clone()),
        (
            Leaf::CheaperExcluded,
            Verdict::KeepLua,
            vec![(TwinKind::Wasm, Fate::Memory)]
        )
    );
    assert!(
        r.reasons.iter().any(|x| x.contains("memory over budget")),
        "{:?}",
        r.reasons
    );
    e.wasm_memory = None;
    let r = decide(&e, &policy(true));
    assert_eq!(r.ways, vec![(TwinKind::Wasm, Fate::MemoryUnknown)]);
    assert!(step(&r, "way_memory_fits")
        .evidence
        .contains("not measured"));
    e.wasm_memory = Some(crate::decision::MemoryFit::constant(1.0));
    let r = decide(&e, &policy(false));
    assert_eq!(r.ways, vec![(TwinKind::Wasm, Fate::Language)]);
    assert_eq!(r.leaf, Leaf::CheaperExcluded);
}

#[test]
fn every_leaf_is_in_the_tree_once_and_every_path_follows_it() {
    let mut drawn = TREE.leaves();
    drawn.sort();
    let mut all = Leaf::ALL.to_vec();
    all.sort();
    assert_eq!(drawn, all);
    let mut fates = TREE.fates();
    fates.sort();
    let mut all = Fate::ALL.to_vec();
    all.sort();
    assert_eq!(fates, all);
    // Every path decide takes follows the tree's branches to the leaf it reports, and each
    // twin's steps follow the per-twin part to the fate it reports.
    let cases = [
        evidence(Some(rounds(10, 60.0, Some(20.0), 3.0))),
        evidence(Some(rounds(10, 20.0, Some(60.0), 3.0))),
        evidence(Some(rounds(10, 1.0, Some(0.5), 0.5))),
        evidence(None),
        lua_only(1.0, 0.5),
        lua_only(50.0, 2.0),
        lua_only(5.0, 3.0),
        three_ways(60.0, [Some(20.0), Some(90.0), Some(12.0)], 0.5),
        three_ways(60.0, [Some(20.0), None, Some(19.8)], 2.0),
    ];
    fn follow<'a>(
        mut node: &'a TreeNode,
        steps: &mut impl Iterator<Item = &'a Step>,
    ) -> &'a TreeNode {
        while let TreeNode::Ask(..) = node {
            let s = steps.next().expect("a step for every question on the way");
            assert_eq!(node.id(), s.id);
            node = &node
                .branches()
                .iter()
                .find(|(answers, _)| answers.iter().any(|a| a.label() == s.answer))
                .expect("the answer is a branch")
                .1;
        }
        node
    }
    for e in &cases {
        let r = decide(e, &policy_three(true));
        let trunk: Vec<&Step> = r.path.iter().filter(|s| s.twin.is_none()).collect();
        let mut steps = trunk.into_iter();
        let mut node = follow(&TREE, &mut steps);
        if let TreeNode::EachWay(each, then) = node {
            for (kind, fate) in &r.ways {
                let mine: Vec<&Step> = r.path.iter().filter(|s| s.twin == Some(*kind)).collect();
                let mut it = mine.into_iter();
                let end = follow(each, &mut it);
                assert_eq!(end.id(), fate.id(), "{kind}");
                assert!(it.next().is_none());
            }
            node = follow(then, &mut steps);
        } else {
            assert!(r.ways.is_empty());
        }
        assert!(steps.next().is_none());
        assert_eq!(node.id(), r.leaf.id());
    }
}

/// The shipped policy with fewer resamples (the three-kind tests walk the tree on every resample
/// with an interval per kind, slow in a debug build; 60 still shows a clear call and a split),
/// for a team that accepts a custom istio-proxy image, so that every kind is deployable.
fn policy_three(knows_rust: bool) -> Policy {
    let mut p = policy(knows_rust);
    p.confidence.resamples = 60;
    p.deploy.native_custom_proxy = true;
    p
}

/// Rounds with every kind: the baseline drifts ±20% between rounds; Lua adds `lua`, the Rust
/// Wasm, Go Wasm and native twins add `added` (None: not measured), each with its own jitter of
/// `noise` per round.
fn three_ways(lua: f64, added: [Option<f64>; 3], noise: f64) -> Evidence {
    let mut r = rounds(12, lua, added[0], noise);
    for (i, t) in r.cpu_us.iter_mut().enumerate() {
        let base = t.base.unwrap();
        let j = |k: f64| noise * ((i as f64 * k).sin());
        t.go_wasm = added[1].map(|a| base + a + j(1.9));
        t.native = added[2].map(|a| base + a + j(2.7));
    }
    let mut e = evidence(Some(r));
    for (kind, a) in [(TwinKind::GoWasm, added[1]), (TwinKind::Native, added[2])] {
        if a.is_some() {
            e.other_twins.push(TwinEvidence {
                kind,
                equivalent: Some(true),
                equivalence_source: Some("real Envoy".into()),
                memory: Some(crate::decision::MemoryFit::constant(1.0)),
            });
        }
    }
    e
}

#[test]
fn a_native_module_that_saves_most_and_is_allowed_is_the_way_out() {
    // Lua adds 60, Rust Wasm 20, Go Wasm 90 (dearer than Lua), native 12: native is cheaper
    // than Rust Wasm by 8 us with every round's jitter of 0.5.
    let e = three_ways(60.0, [Some(20.0), Some(90.0), Some(12.0)], 0.5);
    let r = decide(&e, &policy_three(true));
    assert_eq!(r.leaf, Leaf::CheaperFits);
    assert_eq!(r.call, Verdict::Migrate(TwinKind::Native));
    assert_eq!(r.call.label(), "migrate to a native module");
    assert_eq!(
        r.ways,
        vec![
            (TwinKind::Wasm, Fate::Candidate),
            (TwinKind::GoWasm, Fate::NotCheaper),
            (TwinKind::Native, Fate::Candidate),
        ]
    );
    assert!(r.confidence.as_ref().unwrap().share >= 0.9);
    // Under Istio (the default) the choice says what the proxy needs.
    assert!(r
        .caveat
        .as_deref()
        .unwrap()
        .contains("custom istio-proxy image"));
    assert!(r
        .reasons
        .iter()
        .any(|x| x.contains("custom istio-proxy image")));
    // Go, dearer than Lua, is out at the first question, with Lua cheaper said.
    let go = r
        .path
        .iter()
        .find(|s| s.twin == Some(TwinKind::GoWasm))
        .unwrap();
    assert_eq!((go.id.as_str(), go.answer.as_str()), ("way_cheaper", "no"));
    assert!(go.evidence.contains("Lua is cheaper"), "{go:?}");
    // Plain Envoy: no caveat.
    let mut p = policy_three(true);
    p.deploy.platform = Platform::Envoy;
    assert_eq!(decide(&e, &p).caveat, None);
}

#[test]
fn policy_rules_a_native_module_out_with_its_reason() {
    let e = three_ways(60.0, [Some(20.0), Some(90.0), Some(12.0)], 0.5);
    // Isolation required: native is out, the Rust Wasm twin is chosen.
    let mut p = policy_three(true);
    p.deploy.isolation_required = true;
    let r = decide(&e, &p);
    assert_eq!(r.call, Verdict::Migrate(TwinKind::Wasm));
    assert_eq!(r.call.label(), "migrate to Wasm");
    assert!(r.ways.contains(&(TwinKind::Native, Fate::Isolation)));
    let s = r
        .path
        .iter()
        .find(|s| s.twin == Some(TwinKind::Native) && s.id == "way_isolated")
        .unwrap();
    assert!(s.evidence.contains("shares Envoy's address space"), "{s:?}");
    // Istio without a custom proxy image: native is not deployable; Envoy Gateway is.
    let mut p = policy_three(true);
    p.deploy.native_custom_proxy = false;
    let r = decide(&e, &p);
    assert!(r.ways.contains(&(TwinKind::Native, Fate::Platform)));
    assert_eq!(r.call, Verdict::Migrate(TwinKind::Wasm));
    p.deploy.platform = Platform::EnvoyGateway;
    assert_eq!(decide(&e, &p).call, Verdict::Migrate(TwinKind::Native));
    // A team of Go only: the Rust kinds are out, and Go is dearer than Lua: keep Lua.
    let mut p = policy_three(true);
    p.team.languages = Some(vec!["go".into()]);
    let r = decide(&e, &p);
    assert_eq!((r.leaf, r.call), (Leaf::CheaperExcluded, Verdict::KeepLua));
    assert!(
        r.reasons
            .iter()
            .any(|x| x.contains("native module is measurably cheaper but out: not a language")),
        "{:?}",
        r.reasons
    );
}

#[test]
fn two_ways_inside_each_others_interval_are_too_close_to_call_between_them() {
    // Rust Wasm 20, native 19.8, with 2 us of jitter per round each: both save 40 us over Lua,
    // the difference between them is inside its interval.
    let e = three_ways(60.0, [Some(20.0), None, Some(19.8)], 2.0);
    let r = decide(&e, &policy_three(true));
    assert_eq!(r.leaf, Leaf::CloseBetween);
    assert_eq!(
        r.verdict,
        Verdict::TooCloseBetween(TwinKind::Wasm, TwinKind::Native)
    );
    assert_eq!(r.call, r.verdict);
    assert_eq!(
        r.call.label(),
        "too close to call between Rust Wasm and native module"
    );
    let [(a, sa), (b, sb)] = r.between.unwrap();
    assert_eq!((a, b), (TwinKind::Wasm, TwinKind::Native));
    assert!(
        (sa + sb - 1.0).abs() < 1e-9 && sa > 0.0 && sb > 0.0,
        "{sa} {sb}"
    );
    assert!(r
        .reasons
        .iter()
        .any(|x| x.contains("is the cheaper of the two")));
    assert_eq!(step(&r, "cheapest").answer, "no measurable difference");
}

#[test]
fn resamples_keep_the_kinds_of_a_round_paired() {
    // The baseline drifts by ±20% (±24 us) between rounds and every variant moves with it: native
    // is 1.5 us cheaper than Rust Wasm in every round. Only rounds resampled whole (every kind
    // of one round together) see that difference as clear in every resample.
    let e = three_ways(60.0, [Some(20.0), None, Some(18.5)], 0.0);
    let r = decide(&e, &policy_three(true));
    assert_eq!(r.call, Verdict::Migrate(TwinKind::Native));
    assert_eq!(r.confidence.as_ref().unwrap().share, 1.0);
}

#[test]
fn an_older_policy_file_with_knows_rust_still_reads() {
    let text = include_str!("../../policy.toml")
        .replace("languages = [\"rust\", \"go\"]", "knows_rust = true");
    let text = text[..text.find("[deploy]").unwrap()].to_string();
    let p: Policy = toml::from_str(&text).unwrap();
    assert_eq!(p.team.languages(), ["rust"]);
    assert_eq!(p.deploy, DeployPolicy::default());
    assert_eq!(p.saving.min_cpu_us_between_ways, 1.0);
    let shipped = Policy::default_policy();
    assert_eq!(shipped.team.languages(), ["rust", "go"]);
    assert_eq!(shipped.deploy.platform, Platform::Istio);
    // The stock istio-proxy: no native module unless the policy says a custom image is fine.
    assert!(!shipped.deploy.native_custom_proxy && !shipped.deploy.isolation_required);
}

#[test]
fn ids_are_the_serde_names() {
    for l in Leaf::ALL {
        assert_eq!(serde_json::to_value(l).unwrap(), l.id());
        // A verdict naming a way out carries it: {"migrate": "native"}.
        let v = l.verdict(&[TwinKind::Native]);
        let json = serde_json::to_value(v).unwrap();
        match v.way() {
            Some(k) => assert_eq!(json, serde_json::json!({ (v.id()): k.id() })),
            None if l == Leaf::CloseBetween => assert!(json.get(v.id()).is_none()),
            None => assert_eq!(json, v.id()),
        }
    }
    assert_eq!(
        serde_json::to_value(Verdict::TooCloseToCall).unwrap(),
        "too_close_to_call"
    );
}

#[test]
fn a_policy_that_would_never_end_or_is_not_a_share_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = include_str!("../../policy.toml");
    Policy::default_policy().check().unwrap();
    for (from, to, key) in [
        (
            "resamples = 200",
            "resamples = 1000000000",
            "confidence.resamples",
        ),
        ("min_share = 0.9", "min_share = 1.5", "confidence.min_share"),
        (
            "pair_budget_secs = 12.0",
            "pair_budget_secs = 1e300",
            "measurement.pair_budget_secs",
        ),
        (
            "extra_budget_secs = 150.0",
            "extra_budget_secs = -1.0",
            "measurement.extra_budget_secs",
        ),
        (
            "max_rounds = 80",
            "max_rounds = 0",
            "measurement.max_rounds",
        ),
    ] {
        assert!(shipped.contains(from), "{from}");
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, shipped.replacen(from, to, 1)).unwrap();
        let e = Policy::load(&path).unwrap_err().to_string();
        assert!(e.contains(key) && e.contains("out of range"), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
}

#[test]
fn memory_per_proxy_is_the_line_through_the_worker_counts_with_its_interval() {
    use crate::decision::MemoryFit;
    // Exactly 21.3 once + 0.8 per worker: the interval closes on the value.
    let exact = MemoryFit {
        points: vec![(1, 22.1), (2, 22.9), (4, 24.5)],
    };
    let p = exact.per_proxy(2).unwrap();
    assert!((p.mib - 22.9).abs() < 1e-9, "{p:?}");
    assert!((p.per_process_mib - 21.3).abs() < 1e-9, "{p:?}");
    assert!((p.per_worker_mib - 0.8).abs() < 1e-9, "{p:?}");
    let (lo, hi) = p.interval.unwrap();
    assert!((hi - lo).abs() < 1e-9, "{p:?}");
    assert!(p
        .words()
        .starts_with("+22.9 [+22.9, +22.9] MiB per proxy at 2 workers"));
    // Off the line: an interval around the value, wider far from the measured counts.
    let noisy = MemoryFit {
        points: vec![(1, 21.0), (2, 23.5), (4, 24.0)],
    };
    let at2 = noisy.per_proxy(2).unwrap();
    let at16 = noisy.per_proxy(16).unwrap();
    let (lo2, hi2) = at2.interval.unwrap();
    let (lo16, hi16) = at16.interval.unwrap();
    assert!(lo2 < at2.mib && at2.mib < hi2, "{at2:?}");
    assert!(hi16 - lo16 > hi2 - lo2, "{at2:?} {at16:?}");
    // Two worker counts: the line, no interval; one: not enough.
    let two = MemoryFit {
        points: vec![(1, 20.0), (2, 22.0)],
    };
    let p = two.per_proxy(2).unwrap();
    assert_eq!((p.mib, p.interval), (22.0, None));
    assert!(MemoryFit {
        points: vec![(1, 20.0)]
    }
    .per_proxy(2)
    .is_none());
}

#[test]
fn memory_fits_only_when_its_whole_interval_is_within_the_budget() {
    use crate::decision::MemoryFit;
    let mut e = evidence(Some(rounds(10, 60.0, Some(20.0), 3.0)));
    let mut p = policy(true);
    p.memory.max_extra_mib_per_proxy = 23.0;
    // 22.9 [about 13, 33] at 2 workers: holds 23, too close to say.
    e.wasm_memory = Some(MemoryFit {
        points: vec![(1, 21.0), (2, 23.5), (4, 24.0)],
    });
    let r = decide(&e, &p);
    assert_eq!(r.ways, vec![(TwinKind::Wasm, Fate::MemoryUnknown)]);
    assert!(
        step(&r, "way_memory_fits")
            .evidence
            .contains("too close to say"),
        "{:?}",
        step(&r, "way_memory_fits").evidence
    );
    // The same figures with a budget above the whole interval: it fits.
    p.memory.max_extra_mib_per_proxy = 64.0;
    let r = decide(&e, &p);
    assert_eq!(r.ways, vec![(TwinKind::Wasm, Fate::Candidate)]);
    // A mesh of 100 proxies: the total is on the path.
    p.memory.proxies = 100;
    let r = decide(&e, &p);
    assert!(
        step(&r, "way_memory_fits")
            .evidence
            .contains("over the mesh's 100 proxies"),
        "{:?}",
        step(&r, "way_memory_fits").evidence
    );
}

#[test]
fn the_per_worker_budget_of_older_policies_is_refused_with_what_replaced_it() {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policy.toml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        shipped.replacen(
            "max_extra_mib_per_proxy = 32.0",
            "max_extra_mib_per_proxy = 32.0\nmax_extra_mib_per_worker = 16.0",
            1,
        ),
    )
    .unwrap();
    let e = Policy::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("max_extra_mib_per_worker is replaced by memory.max_extra_mib_per_proxy"),
        "{e}"
    );
}
