//! A result set written with the real types: four pairs covering the verdicts, a missing load
//! file, an in-process-only equivalence failure and a name that needs HTML escaping.

use std::path::{Path, PathBuf};

use filterbench_model::catalogue::Pair;
use filterbench_model::results::*;
use filterbench_model::stats::Interval;
use filterbench_model::TwinKind;
use filterbench_reports::decision::Policy;
use filterbench_reports::site::SiteInput;

pub const MIB: u64 = 1024 * 1024;
/// A name with every character HTML cares about.
pub const ODD: &str = "odd<b>&\"q\"";

pub fn est(median: f64) -> Estimate {
    Estimate {
        median_ns: median,
        ci_low_ns: median * 0.97,
        ci_high_ns: median * 1.03,
    }
}

fn machine() -> MachineInfo {
    MachineInfo {
        cpus: 2,
        cpu_model: "Test CPU 3000".into(),
        memory_bytes: 8 * 1024 * MIB,
    }
}

/// One sample: CPU per request given; latency p50 = 3 x CPU (p90 1.5x, p99 3x that).
fn sample(variant: Variant, round: usize, slot: usize, open: bool, cpu: f64, rps: f64) -> Sample {
    Sample {
        variant,
        round,
        slot,
        open_loop: open,
        secs: 1.0,
        responses: rps as u64,
        throughput_rps: rps,
        p50_us: cpu * 3.0,
        p90_us: cpu * 4.5,
        p99_us: cpu * 9.0,
        errors: 0,
        non_2xx: 0,
        envoy_cpu_us_per_request: cpu,
        envoy_busy: if open { 0.5 } else { 0.97 },
        driver_busy: 0.4,
        behind: false,
    }
}

/// A load file: 8 paired open-loop rounds whose baseline drifts by ±10% between rounds while
/// the filters add (lua - base) and (wasm - base) microseconds of CPU per request, with a small
/// jitter; capacity at 1, 2 and 4 workers; Wasm's RSS grows 3 MiB per worker more than Lua's, on
/// top of a fixed 20 MiB.
pub fn load(pair: &str, base: f64, lua: f64, wasm: f64) -> LoadRun {
    let variants = Variant::WITH_WASM.to_vec();
    let mut rounds = Vec::new();
    for r in 0..8 {
        let drift = base * 0.1 * ((r as f64) * 1.3).sin();
        let jitter = 0.3 * ((r as f64) * 2.1).cos();
        for (slot, v) in variants.iter().enumerate() {
            let cpu = drift
                + match v {
                    Variant::Base => base,
                    Variant::Lua => lua + jitter,
                    Variant::Twin(_) => wasm - jitter,
                };
            rounds.push(sample(*v, r, slot, true, cpu, 5_000.0));
        }
    }
    // The sequential self-check: 6 rounds, each variant meeting its own moment of the machine
    // (an independent drift per variant), around the same added costs.
    let mut check_rounds = Vec::new();
    for r in 0..6 {
        for (slot, v) in variants.iter().enumerate() {
            let own = base * 0.05 * ((r * 3 + slot) as f64 * 0.9).sin();
            let cpu = own
                + match v {
                    Variant::Base => base,
                    Variant::Lua => lua,
                    Variant::Twin(_) => wasm,
                };
            check_rounds.push(sample(*v, r, slot, true, cpu, 5_000.0));
        }
    }
    let capacity = |w: u32| -> Vec<Sample> {
        (0..2)
            .flat_map(|r| {
                variants.iter().enumerate().map(move |(slot, v)| {
                    let rps = match v {
                        Variant::Base => 20_000.0,
                        Variant::Lua => 18_000.0,
                        Variant::Twin(_) => 17_000.0,
                    } * f64::from(w)
                        + r as f64 * 100.0;
                    sample(*v, r, slot, false, 40.0, rps)
                })
            })
            .collect()
    };
    let memory = |v: Variant, rss_mib: u64| VariantMemory {
        variant: v,
        rss_bytes: rss_mib * MIB,
        peak_rss_bytes: (rss_mib + 2) * MIB,
        allocated_bytes: rss_mib / 2 * MIB,
        heap_bytes: rss_mib / 2 * MIB,
        wasm_vms: u64::from(v == Variant::WASM),
    };
    LoadRun {
        schema_version: LOAD_SCHEMA,
        pair: pair.into(),
        envoy_version: "1.40.0".into(),
        machine: LoadMachine {
            cpus: 2,
            cpu_model: "Test CPU 3000".into(),
            memory_bytes: 8 * 1024 * MIB,
            envoy_cpus: Some(vec![1]),
            driver_cpus: Some(vec![0]),
        },
        started_ms: 1_709_251_200_000,
        plan: LoadPlan {
            workers: vec![1, 2, 4],
            capacity_rounds: 2,
            capacity_secs: 1.0,
            warmup_secs: 0.5,
            round_secs: 1.0,
            min_rounds: 6,
            max_rounds: 40,
            budget_secs: Some(36.0),
            target_half_width_us: 2.0,
            target_half_width_pct: 10.0,
            rate_fraction: 0.5,
            connections: 16,
            method: RoundMethod::Simultaneous,
            check_rounds: 6,
        },
        requests_in_mix: 3,
        variants: variants.clone(),
        lua_only: None,
        capacity: capacity(1),
        open_rate_rps: 5_000.0,
        rounds,
        stopped: StopReason::TargetReached,
        target_half_width_us: 2.0,
        by_workers: [1u32, 2, 4]
            .iter()
            .map(|&w| WorkersRun {
                workers: w,
                capacity: if w == 1 { vec![] } else { capacity(w) },
                memory: vec![
                    memory(Variant::Base, 30 + u64::from(w)),
                    memory(Variant::Lua, 40 + u64::from(w)),
                    memory(Variant::WASM, 60 + 4 * u64::from(w)),
                ],
                // Start-up CPU, ms: the Wasm twin's module compiled once (+20 ms over Lua) and
                // instantiated per worker (+3 ms each).
                startup: [
                    (Variant::Base, 40 + u64::from(w)),
                    (Variant::Lua, 45 + u64::from(w)),
                    (Variant::WASM, 65 + 4 * u64::from(w)),
                ]
                .into_iter()
                .map(|(variant, ms)| VariantStartup {
                    variant,
                    cpu_ns: ms * 1_000_000,
                    wall_ns: (ms + 30) * 1_000_000,
                })
                .collect(),
            })
            .collect(),
        partial: false,
        method: RoundMethod::Simultaneous,
        check_rounds,
        check_rate_rps: 5_000.0,
        failure: None,
        config: None,
        extra: Vec::new(),
    }
}

/// `run` with a twin of `kind` in every paired and check round: it adds `added` µs of Envoy CPU
/// per request over the round's baseline, plus a jitter of `noise` (a sine of the round at
/// frequency `k`); latency 3x / 4.5x / 9x its CPU like the others; memory Lua's plus 1 MiB per
/// worker.
pub fn with_twin(mut run: LoadRun, kind: TwinKind, added: f64, noise: f64, k: f64) -> LoadRun {
    let v = Variant::Twin(kind);
    run.variants.push(v);
    let slot = run.variants.len() - 1;
    for samples in [&mut run.rounds, &mut run.check_rounds] {
        let twins: Vec<Sample> = samples
            .iter()
            .filter(|s| s.variant == Variant::Base)
            .map(|s| {
                let cpu = s.envoy_cpu_us_per_request + added + noise * ((s.round as f64) * k).sin();
                Sample {
                    variant: v,
                    slot,
                    envoy_cpu_us_per_request: cpu,
                    p50_us: cpu * 3.0,
                    p90_us: cpu * 4.5,
                    p99_us: cpu * 9.0,
                    ..s.clone()
                }
            })
            .collect();
        samples.extend(twins);
    }
    for w in &mut run.by_workers {
        let lua = *w.memory_of(Variant::Lua).unwrap();
        w.memory.push(VariantMemory {
            variant: v,
            rss_bytes: lua.rss_bytes + u64::from(w.workers) * MIB,
            ..lua
        });
    }
    run
}

/// The pass-through run of [`write_all`]: the pass-through Lua filter adds 20 µs over the
/// baseline, the Rust Wasm one 12, the native module 4 (each with its round's jitter).
pub fn passthrough_run() -> LoadRun {
    with_twin(
        load("passthrough", 100.0, 120.0, 112.0),
        TwinKind::Native,
        4.0,
        0.2,
        2.7,
    )
}

/// [`load`] as a Lua-only run (`filterbench load --lua-only`): baseline and Lua samples only,
/// and the reason said.
pub fn load_lua_only(pair: &str, base: f64, lua: f64, why: LuaOnly) -> LoadRun {
    let mut run = load(pair, base, lua, lua);
    run.variants = vec![Variant::Base, Variant::Lua];
    run.lua_only = Some(why);
    run.rounds.retain(|s| s.variant != Variant::WASM);
    run.check_rounds.retain(|s| s.variant != Variant::WASM);
    run.capacity.retain(|s| s.variant != Variant::WASM);
    for w in &mut run.by_workers {
        w.capacity.retain(|s| s.variant != Variant::WASM);
        w.memory.retain(|m| m.variant != Variant::WASM);
    }
    run
}

/// A paired record whose ratio is `wasm / lua` with a +-3% interval.
pub fn paired(lua: f64, wasm: f64) -> Paired {
    let interval = |m: f64| Interval {
        median: m,
        low: m - (m * 0.03).abs(),
        high: m + (m * 0.03).abs(),
        n: 200,
    };
    Paired {
        wasm_over_lua: interval(wasm / lua),
        wasm_minus_lua_ns: interval(wasm - lua),
        rounds: 200,
        blocks: 8,
        lua_batch_iterations: 1000,
        wasm_batch_iterations: 1000,
    }
}

fn op(name: &str, claimed: (f64, f64), lua: f64, wasm: f64) -> OperationBench {
    OperationBench {
        op: name.into(),
        description: format!("one {name}"),
        claimed_lua_ns: claimed.0,
        claimed_wasm_ns: claimed.1,
        lua: est(lua),
        wasm: est(wasm),
        paired: paired(lua, wasm),
        instructions: Some(Instructions {
            lua: Some(lua * 3.0),
            wasm: Some(wasm * 2.0),
            go: None,
        }),
    }
}

/// A pair's in-process record with paired ratio and instruction counts.
pub fn pair_bench(p: &str, lua: f64, wasm: f64) -> PairBench {
    PairBench {
        pair: p.into(),
        lua: est(lua),
        wasm: est(wasm),
        paired: paired(lua, wasm),
        instructions: Some(Instructions {
            lua: Some(lua * 3.0),
            wasm: Some(wasm * 2.0),
            go: None,
        }),
        go: None,
    }
}

/// [`pair_bench`] with a Go Wasm twin measured in the same rounds (`go` ns per request) and
/// counted (`go * 4` instructions).
pub fn pair_bench_with_go(p: &str, lua: f64, wasm: f64, go: f64) -> PairBench {
    let mut b = pair_bench(p, lua, wasm);
    let both = paired(lua, go);
    let rust = paired(wasm, go);
    b.go = Some(GoBench {
        go: est(go),
        go_over_lua: both.wasm_over_lua,
        go_minus_lua_ns: both.wasm_minus_lua_ns,
        go_over_wasm: rust.wasm_over_lua,
        go_minus_wasm_ns: rust.wasm_minus_lua_ns,
        go_batch_iterations: 800,
    });
    if let Some(i) = b.instructions.as_mut() {
        i.go = Some(go * 4.0);
    }
    b
}

/// [`bench`] with the Go Wasm twins of add_header and jwt_auth measured (not custom_metrics'),
/// their start-up and memory too.
pub fn bench_with_go() -> BenchSummary {
    let mut s = bench();
    s.pairs[0] = pair_bench_with_go("add_header", 2_100.0, 3_400.0, 5_300.0);
    s.pairs[1] = pair_bench_with_go("jwt_auth", 19_000.0, 6_000.0, 12_700.0);
    s.startup[0].go_compile = Some(est(480_000_000.0));
    s.startup[0].go_instantiate = Some(est(2_600_000.0));
    s.memory[0].go_after_start_bytes = Some(4_390_912);
    s.memory[0].go_after_requests_bytes = Some(4_456_448);
    s.go_not_measured = vec!["custom_metrics: the Go Wasm twin is not built".into()];
    s
}

pub fn bench() -> BenchSummary {
    let pair = pair_bench;
    BenchSummary {
        schema_version: BENCH_SCHEMA,
        created_ms: 1_709_251_200_000,
        profile: "quick".into(),
        machine: machine(),
        pairs: vec![
            pair("add_header", 2_100.0, 3_400.0),
            pair("jwt_auth", 19_000.0, 6_000.0),
            pair("custom_metrics", 2_500.0, 3_000.0),
        ],
        operations: vec![
            // held: claimed 4x, measured 3x
            op("header_read", (400.0, 100.0), 300.0, 100.0),
            // direction only: claimed 5x, measured 1.5x
            op("header_set", (500.0, 100.0), 150.0, 100.0),
            // did not hold: claimed Wasm 5x faster, measured Lua faster
            op("json_parse", (2_000.0, 400.0), 80.0, 100.0),
            // no measurable difference: the paired interval contains 1
            op("regex_match", (1_000.0, 200.0), 100.0, 101.0),
            // held: claimed 3x, measured 2.8x
            op("string_concat", (300.0, 100.0), 280.0, 100.0),
        ],
        startup: vec![StartupBench {
            pair: "add_header".into(),
            lua_load: est(80_000.0),
            wasm_compile: est(9_000_000.0),
            wasm_instantiate: est(300_000.0),
            go_compile: None,
            go_instantiate: None,
        }],
        memory: vec![MemoryBench {
            pair: "add_header".into(),
            requests: 10_000,
            lua_after_start_bytes: 300_000,
            lua_after_requests_bytes: 320_000,
            wasm_after_start_bytes: 1_114_112,
            wasm_after_requests_bytes: 1_179_648,
            go_after_start_bytes: None,
            go_after_requests_bytes: None,
        }],
        baseline: Some(pair_bench("pass_through", 900.0, 1_400.0)),
        paired_method: PairedMethod {
            rounds: 200,
            blocks: 8,
            batch_target_us: 1000.0,
            bootstrap_resamples: 2000,
            bootstrap_seed: 1,
            confidence: 0.95,
            words: "interleaved ABBA batches, bootstrap".into(),
        },
        callgrind: CallgrindRun {
            counted: true,
            valgrind: Some("valgrind-3.19.0".into()),
            warm_up: 200,
            k1: 100,
            k2: 300,
            options: vec!["--tool=callgrind".into()],
            wasm_features_off: vec!["has_avx512f".into()],
            note: "instructions, not time".into(),
        },
        go_not_measured: Vec::new(),
    }
}

pub fn verify_pair(pair: &str, equivalent: bool, failures: Vec<String>) -> VerifyPair {
    VerifyPair {
        pair: pair.into(),
        twin: TwinKind::Wasm,
        scenarios: 12,
        equivalent,
        configs: vec![],
        failures,
        served_by: None,
        notes: Vec::new(),
    }
}

/// A catalogue entry as the report sees it: `summary`, no external call, no state, changed
/// rarely; `data_processing` and `capability_gap` as given.
pub fn pair(
    name: &str,
    summary: &str,
    data_processing: bool,
    capability_gap: Option<&str>,
) -> Pair {
    let gap = capability_gap.map_or(String::new(), |g| format!("capability_gap = {g:?}\n"));
    let text = format!(
        "name = {name:?}\nsummary = {summary:?}\nbehaviour = \"\"\n{gap}config = {{}}\n\
         [traits]\nexternal_call = false\ndata_processing = {data_processing}\n\
         custom_metrics = false\nstate = false\nchange_frequency = \"low\"\n"
    );
    toml::from_str(&text).unwrap()
}

pub fn pairs() -> Vec<Pair> {
    let summary = |name: &str| format!("The {name} filter <script>alert(1)</script>.");
    vec![
        pair("add_header", &summary("add_header"), false, None),
        pair("jwt_auth", &summary("jwt_auth"), true, None),
        pair(
            "custom_metrics",
            &summary("custom_metrics"),
            false,
            Some("Envoy's Lua has no stats API"),
        ),
        pair(ODD, &summary(ODD), false, None),
    ]
}

/// Writes the whole result set under `root/results`; returns the render input.
/// A 20-chunk soak of `pair`: 10,000 requests per chunk each; the baseline and Lua flat (with a
/// page's jitter), the Wasm twin's RSS growing 50 KiB per chunk (500 KiB per 100k requests).
pub fn soak(pair: &str) -> SoakRun {
    let mut points = Vec::new();
    for chunk in 0..=20u64 {
        for (variant, start_mib, kib_per_chunk) in [
            (Variant::Base, 60, 0),
            (Variant::Lua, 64, 0),
            (Variant::WASM, 86, 50),
        ] {
            points.push(SoakPoint {
                variant,
                elapsed_secs: chunk as f64 * 30.0,
                requests: chunk * 10_000,
                rss_bytes: start_mib * 1024 * 1024
                    + chunk * kib_per_chunk * 1024
                    + (chunk % 2) * 4096,
                allocated_bytes: 0,
            });
        }
    }
    SoakRun {
        schema_version: SOAK_SCHEMA,
        pair: pair.into(),
        envoy_version: "1.40.0".into(),
        started_ms: 1_709_251_200_000,
        rate_rps: 333.0,
        secs: 600.0,
        variants: vec![Variant::Base, Variant::Lua, Variant::WASM],
        points,
        partial: false,
    }
}

pub fn write_all(root: &Path) -> SiteInput {
    let results = root.join("results");
    write_json_atomically(&bench_summary_path(&results), &bench()).unwrap();
    let envoy = VerifyRecord {
        schema_version: VERIFY_SCHEMA,
        mode: "envoy".into(),
        envoy_version: Some("1.40.0".into()),
        created_ms: 1_709_251_200_000,
        pairs: vec![
            verify_pair("add_header", true, vec![]),
            verify_pair("jwt_auth", true, vec![]),
            verify_pair("custom_metrics", true, vec![]),
        ],
    };
    write_json_atomically(&verify_path(&results, "envoy"), &envoy).unwrap();
    let in_process = VerifyRecord {
        schema_version: VERIFY_SCHEMA,
        mode: "in_process".into(),
        envoy_version: None,
        created_ms: 1_709_251_200_000,
        pairs: vec![
            // Envoy's record wins for this pair.
            verify_pair("add_header", false, vec!["should not be shown".into()]),
            verify_pair(
                ODD,
                false,
                vec!["scenario s1: header <x-a> Lua \"1\" Wasm \"2\"".into()],
            ),
        ],
    };
    write_json_atomically(&verify_path(&results, "in_process"), &in_process).unwrap();
    // add_header: Wasm adds more than Lua (keep Lua). jwt_auth: Wasm cuts 80% (migrate).
    // custom_metrics: no load file. ODD: has one.
    write_json_atomically(
        &load_path(&results, "add_header"),
        &load("add_header", 100.0, 110.0, 118.0),
    )
    .unwrap();
    write_json_atomically(&soak_path(&results, "add_header"), &soak("add_header")).unwrap();
    write_json_atomically(
        &load_path(&results, "jwt_auth"),
        &load("jwt_auth", 100.0, 150.0, 110.0),
    )
    .unwrap();
    write_json_atomically(&load_path(&results, ODD), &load(ODD, 100.0, 105.0, 104.0)).unwrap();
    // The pass-through filters: what merely having each kind of filter costs.
    write_json_atomically(&load_path(&results, "passthrough"), &passthrough_run()).unwrap();
    SiteInput {
        results_dir: results,
        results_shown: "reports/results".into(),
        pairs: pairs(),
        policy: Policy::default_policy(),
        policy_source: "reports/policy.toml".into(),
        rendered_ms: 1_709_251_260_000,
    }
}

pub fn read(out: &Path, page: &str) -> String {
    std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"))
}

/// The `<svg data-chart="ID">…</svg>` element of a page.
pub fn chart<'a>(page: &'a str, id: &str) -> Option<&'a str> {
    let start = page.find(&format!("data-chart=\"{id}\""))?;
    let start = page[..start].rfind("<svg")?;
    let end = start + page[start..].find("</svg>")? + "</svg>".len();
    Some(&page[start..end])
}

/// `(data-pair, data-verdict)` of every index row.
pub fn index_rows(index: &str) -> Vec<(String, String)> {
    index
        .split("<tr data-pair=\"")
        .skip(1)
        .map(|rest| {
            let (pair, rest) = rest.split_once('"').unwrap();
            let verdict = rest
                .split_once("data-verdict=\"")
                .unwrap()
                .1
                .split_once('"')
                .unwrap()
                .0;
            (pair.to_string(), verdict.to_string())
        })
        .collect()
}

/// Every file and directory name directly in `dir`.
pub fn names_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| PathBuf::from(e.unwrap().file_name()))
        .collect();
    v.sort();
    v
}

/// [`write_all`] plus a fifth pair, `body_transform`: a data-processing filter whose Wasm twin is
/// slower, so the site shows all three verdicts (`migrate_if_capability_needed` too).
pub fn write_all_verdicts(root: &Path) -> SiteInput {
    const PAIR: &str = "body_transform";
    let mut input = write_all(root);
    let results = &input.results_dir;
    let mut summary = bench();
    summary.pairs.push(pair_bench(PAIR, 7_000.0, 9_500.0));
    write_json_atomically(&bench_summary_path(results), &summary).unwrap();
    let envoy = VerifyRecord {
        schema_version: VERIFY_SCHEMA,
        mode: "envoy".into(),
        envoy_version: Some("1.40.0".into()),
        created_ms: 1_709_251_200_000,
        pairs: ["add_header", "jwt_auth", "custom_metrics", PAIR]
            .into_iter()
            .map(|p| verify_pair(p, true, vec![]))
            .collect(),
    };
    write_json_atomically(&verify_path(results, "envoy"), &envoy).unwrap();
    write_json_atomically(&load_path(results, PAIR), &load(PAIR, 100.0, 130.0, 145.0)).unwrap();
    input
        .pairs
        .push(pair(PAIR, "Rewrites JSON bodies.", true, None));
    input
}
