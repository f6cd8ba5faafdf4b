//! The compare runner against real Envoys: capacity and paired open-loop rounds of every variant,
//! memory at every worker count, with CPU and memory figures that come from the processes (no
//! timing is asserted, only that the figures exist and are consistent), and the report reading
//! the very file written.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use filterbench_envoy::compare::{capacity_at, compare, extend, plan, Subject};
use filterbench_envoy::envoy::find_envoy;
use filterbench_envoy::verify::Rig;
use filterbench_model::results::write_json_atomically;
use filterbench_model::results::{
    read_result, ExtraEnd, ExtraWhy, LoadRun, LuaOnly, RoundMethod, StopReason, Variant,
    LOAD_SCHEMA,
};
use filterbench_model::{project_root, Catalogue};
use filterbench_reports::decision::{Costs, Policy};
use filterbench_reports::evidence::paired_rounds;

/// The shipped plan made small for a test: short windows, 4 connections, `workers`, exactly
/// `rounds` paired rounds (no budget).
fn small_plan(workers: &[u32], rounds: usize) -> filterbench_model::results::LoadPlan {
    let mut p = plan(&Policy::default_policy().measurement, false);
    p.workers = workers.to_vec();
    p.capacity_rounds = 1;
    p.capacity_secs = 0.3;
    p.warmup_secs = 0.1;
    p.round_secs = 0.3;
    p.connections = 4;
    (p.min_rounds, p.max_rounds, p.budget_secs) = (rounds, rounds, None);
    p
}

#[test]
fn compare_measures_every_variant_in_paired_rounds_and_at_every_worker_count() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    let pair = catalogue.get("header_auth").unwrap();
    let rig = Rig::new(find_envoy().unwrap()).unwrap();
    let mut p = small_plan(&[1, 2], 3);
    // Today's method, kept behind `--sequential` (simultaneous rounds: the next test).
    p.method = RoundMethod::Sequential;
    p.check_rounds = 0;
    let mut seen = Vec::new();
    let subject = Subject::of_pair(&catalogue, pair).unwrap();
    let result = compare(
        &rig,
        &subject,
        &p,
        "test",
        Arc::new(AtomicBool::new(false)),
        &mut |m| seen.push(m.to_string()),
    )
    .unwrap();
    assert!(!result.partial);
    // Three rounds exactly: the third may also have narrowed the interval to the target (the
    // target is checked first), else the rounds ran out.
    assert!(
        matches!(
            result.stopped,
            StopReason::MaxRounds | StopReason::TargetReached
        ),
        "{:?}",
        result.stopped
    );
    assert_eq!(result.variants, Variant::WITH_WASM.to_vec());
    // Capacity: one closed-loop round per variant at each worker count.
    assert_eq!(result.capacity.len(), 3);
    assert!(result
        .capacity
        .iter()
        .all(|s| !s.open_loop && s.throughput_rps > 0.0));
    // Paired rounds: every variant once per round, in a rotating order, at one open-loop rate.
    assert_eq!(result.round_count(), 3);
    assert_eq!(result.rounds.len(), 9);
    assert!(result.open_rate_rps > 0.0);
    for r in 0..3 {
        let order: Vec<Variant> = result
            .rounds
            .iter()
            .filter(|s| s.round == r)
            .map(|s| s.variant)
            .collect();
        let mut expected = Variant::WITH_WASM.to_vec();
        expected.rotate_left(r);
        assert_eq!(order, expected, "round {r}");
    }
    for s in &result.rounds {
        assert!(s.open_loop, "{s:?}");
        assert!(s.envoy_cpu_us_per_request > 0.0, "{s:?}");
        assert!(s.envoy_busy > 0.0 && s.driver_busy > 0.0, "{s:?}");
        assert!(s.p50_us > 0.0 && s.p50_us <= s.p99_us, "{s:?}");
        // The mix is the requests header_auth lets through (the baseline does the same
        // upstream work): no variant answers anything but 2xx.
        assert_eq!((s.errors, s.non_2xx), (0, 0), "{s:?}");
    }
    assert_eq!(
        result
            .by_workers
            .iter()
            .map(|w| w.workers)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    for w in &result.by_workers {
        for v in Variant::WITH_WASM {
            let m = w.memory_of(v).unwrap();
            assert!(m.rss_bytes > 0 && m.peak_rss_bytes >= m.rss_bytes, "{m:?}");
            assert!(m.allocated_bytes > 0, "{m:?}");
            // Start-up recorded as each Envoy became ready.
            let s = w.startup_of(v).unwrap();
            assert!(s.cpu_ns > 0 && s.wall_ns > 0, "{s:?}");
        }
        // One Wasm VM per worker (plus the main thread's), none without the Wasm filter.
        assert_eq!(w.memory_of(Variant::Base).unwrap().wasm_vms, 0);
        let vms = w.memory_of(Variant::WASM).unwrap().wasm_vms;
        assert!(
            vms >= u64::from(w.workers),
            "{} workers, {vms} VMs",
            w.workers
        );
    }
    // Capacity at 2 workers only where Envoy has more than one CPU: on one pinned core more
    // workers cannot serve more, and the 2-worker Envoys measure memory and start-up only.
    let envoy_cpus = result
        .machine
        .envoy_cpus
        .as_ref()
        .map_or(result.machine.cpus, Vec::len);
    assert_eq!(
        result.by_workers[1].capacity.len(),
        if capacity_at(2, envoy_cpus) { 3 } else { 0 },
        "capacity at 2 workers with {envoy_cpus} Envoy CPU(s)"
    );
    assert!(seen.iter().any(|m| m.contains("round 3")), "{seen:?}");
    // What the report reads of it: the same type, and intervals from its rounds.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results/header_auth.json");
    write_json_atomically(&path, &result).unwrap();
    let back: LoadRun = read_result(&path, LOAD_SCHEMA).unwrap();
    assert_eq!(back, result);
    // A round where an Envoy fell behind its rate (a busy machine, a debug build) is left out of
    // every difference: intervals come from the others, and none only when all were behind.
    let behind = filterbench_model::results::behind_rounds(&back.rounds).len();
    match paired_rounds(&back) {
        Some(r) => {
            let costs = Costs::of(&r);
            assert_eq!(costs.rounds, 3);
            if behind < 3 {
                assert!(costs.lua_cpu_us.is_some() && costs.wasm_minus_lua_cpu_us.is_some());
            }
        }
        None => assert_eq!(behind, 3, "no paired round although not all were behind"),
    }
}

/// An Envoy binary that refuses to start at 2 workers and is the real one otherwise.
fn envoy_failing_at_two_workers(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let real = find_envoy().unwrap();
    let path = dir.join("envoy-fails-at-2");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nprev=\nfor a in \"$@\"; do\n  if [ \"$prev\" = --concurrency ] && [ \"$a\" = 2 ]; then\n    echo 'injected: no start at 2 workers' >&2; exit 1\n  fi\n  prev=$a\ndone\nexec '{}' \"$@\"\n",
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn simultaneous_rounds_run_every_variant_at_once_and_an_error_at_2_workers_keeps_them() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    let pair = catalogue.get("add_header").unwrap();
    let bin_dir = tempfile::tempdir().unwrap();
    let rig = Rig::new(envoy_failing_at_two_workers(bin_dir.path())).unwrap();
    let mut p = small_plan(&[1, 2], 3);
    assert_eq!(p.method, RoundMethod::Simultaneous, "the default");
    p.check_rounds = 2;
    // Gentle rates: the debug-built generators share a small test machine.
    p.rate_fraction = 0.2;
    let subject = Subject::of_pair(&catalogue, pair).unwrap();
    let result = compare(
        &rig,
        &subject,
        &p,
        "test",
        Arc::new(AtomicBool::new(false)),
        &mut |_| {},
    )
    .expect("the 1-worker rounds are kept, not thrown away");
    // The error at 2 workers: partial, with the reason; the paired rounds' own stop kept.
    assert!(result.partial);
    let why = result.failure.as_deref().unwrap();
    assert!(why.contains("at 2 worker(s)"), "{why}");
    assert!(
        matches!(
            result.stopped,
            StopReason::MaxRounds | StopReason::TargetReached
        ),
        "the paired rounds' own stop, not the error's: {:?}",
        result.stopped
    );
    assert_eq!(
        result
            .by_workers
            .iter()
            .map(|w| w.workers)
            .collect::<Vec<_>>(),
        [1],
        "the 1-worker memory is kept"
    );
    // Simultaneous rounds: every variant in every round, one slot each, same rate.
    assert_eq!(result.method, RoundMethod::Simultaneous);
    assert_eq!(result.round_count(), 3);
    for r in 0..3 {
        let mut in_round: Vec<Variant> = result
            .rounds
            .iter()
            .filter(|s| s.round == r)
            .map(|s| s.variant)
            .collect();
        in_round.sort();
        assert_eq!(in_round, Variant::WITH_WASM.to_vec(), "round {r}");
    }
    for s in result.rounds.iter().chain(&result.check_rounds) {
        assert!(s.open_loop && s.envoy_cpu_us_per_request > 0.0, "{s:?}");
        assert_eq!((s.errors, s.non_2xx), (0, 0), "{s:?}");
    }
    // The rate: together a share of the core, below the sequential (check) rate.
    assert!(result.open_rate_rps > 0.0 && result.open_rate_rps < result.check_rate_rps);
    // The sequential self-check, in the same run.
    assert_eq!(result.check_rounds.len(), 2 * 3);
    // (A busy test machine can leave a check round behind its rate; such a round is left out,
    // and with fewer than two clean rounds there is nothing to compare.)
    let clean_checks = result.check_rounds.iter().filter(|s| !s.behind).count();
    assert!(
        clean_checks < 2 * 3 || filterbench_reports::evidence::method_check(&result).is_some(),
        "rate {} check rate {}: {:?}",
        result.open_rate_rps,
        result.check_rate_rps,
        result
            .rounds
            .iter()
            .chain(&result.check_rounds)
            .map(|s| (s.variant, s.round, s.behind, s.throughput_rps))
            .collect::<Vec<_>>()
    );
}

/// `all`'s second pass: rounds added to a finished run start its Envoys again, run at the
/// first pass's rate, are numbered on from its rounds, stop when asked, and are recorded.
#[test]
fn a_second_pass_adds_numbered_rounds_at_the_same_rate_and_records_why_and_how_it_ended() {
    let catalogue = Catalogue::load(&project_root()).unwrap();
    let pair = catalogue.get("add_header").unwrap();
    let rig = Rig::new(find_envoy().unwrap()).unwrap();
    let mut p = small_plan(&[1], 2);
    p.check_rounds = 0;
    p.rate_fraction = 0.2;
    // Base, Lua and the Rust Wasm twin.
    let subject = Subject::of_pair(&catalogue, pair).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut run = compare(&rig, &subject, &p, "test", stop.clone(), &mut |_| {}).unwrap();
    assert!(!run.partial && run.extra.is_empty());
    let first = run.round_count();
    let rate = run.open_rate_rps;
    // The plan's maximum of rounds caps both passes together.
    run.plan.max_rounds = first + 10;
    // Asked to stop after two rounds of its own.
    let mut asked = 0;
    let mut lines = Vec::new();
    extend(
        &rig,
        &subject,
        &mut run,
        ExtraWhy::OpenAnswer,
        60.0,
        stop.clone(),
        &mut |r| {
            asked += 1;
            assert_eq!(r.round_count(), first + asked, "asked after each round");
            (asked == 2).then_some(ExtraEnd::Settled)
        },
        &mut |l| lines.push(l.to_string()),
    )
    .unwrap();
    assert_eq!(run.round_count(), first + 2);
    assert_eq!(run.open_rate_rps, rate, "the first pass's rate");
    for r in first..first + 2 {
        let mut in_round: Vec<Variant> = run
            .rounds
            .iter()
            .filter(|s| s.round == r)
            .map(|s| s.variant)
            .collect();
        in_round.sort();
        assert_eq!(in_round, Variant::WITH_WASM.to_vec(), "round {r}");
    }
    let pass = &run.extra[0];
    assert_eq!(
        (pass.why, pass.rounds, pass.ended, pass.budget_secs),
        (ExtraWhy::OpenAnswer, 2, ExtraEnd::Settled, 60.0)
    );
    assert!(pass.secs > 0.0);
    assert!(
        lines.iter().any(|l| l.contains("more rounds (2)")),
        "{lines:?}"
    );
    // A budget smaller than a round: the pass ends at once, said.
    extend(
        &rig,
        &subject,
        &mut run,
        ExtraWhy::ShortOfTarget,
        0.01,
        stop.clone(),
        &mut |_| None,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(run.round_count(), first + 2);
    assert_eq!(
        (run.extra[1].rounds, run.extra[1].ended),
        (0, ExtraEnd::Budget)
    );
    // The file round-trips with its passes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("add_header.json");
    write_json_atomically(&path, &run).unwrap();
    assert_eq!(read_result::<LoadRun>(&path, LOAD_SCHEMA).unwrap(), run);
    // Another set of variants than the first pass's is refused, naming the pair.
    let other = Subject::of_pair(&catalogue, pair)
        .unwrap()
        .lua_only(LuaOnly::Asked);
    let err = extend(
        &rig,
        &other,
        &mut run,
        ExtraWhy::OpenAnswer,
        10.0,
        stop,
        &mut |_| None,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("add_header") && err.contains("variants"),
        "{err}"
    );
}

#[test]
fn load_lua_only_measures_the_baseline_and_lua_and_no_wasm() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("add_header.json");
    crate::support::ensure_envoy();
    let run = crate::support::filterbench(
        &[
            "load",
            "--pair",
            "add_header",
            "--lua-only",
            "--workers",
            "1",
            "--rounds",
            "2",
            "--round-secs",
            "0.3",
            "--warmup-secs",
            "0.1",
            "--connections",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
        std::time::Duration::from_secs(300),
    );
    let stdout = crate::support::text(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        crate::support::text(&run.stderr)
    );
    assert!(
        stdout.contains("Lua only (asked for with --lua-only"),
        "{stdout}"
    );
    assert!(
        stdout.contains("The most a migration could save is what Lua adds"),
        "{stdout}"
    );
    assert!(!stdout.contains("Wasm - Lua"), "{stdout}");
    let result: LoadRun = read_result(&out, LOAD_SCHEMA).unwrap();
    assert_eq!(result.variants, [Variant::Base, Variant::Lua]);
    assert_eq!(result.lua_only, Some(LuaOnly::Asked));
    // The policy's first question answered for a Lua-only run (unless every round was left out
    // as behind on a busy machine: then there is nothing to answer from).
    if filterbench_model::results::behind_rounds(&result.rounds).len() < 2 {
        assert!(
            stdout.contains("(reports/policy.toml [lua_cost])"),
            "{stdout}"
        );
    }
    assert_eq!(result.check_variants(), Ok(()));
    assert!(!result.partial);
    assert_eq!(result.round_count(), 2);
    // Base and Lua in every round (at the same moment, the default), no Wasm sample anywhere,
    // no Wasm VM.
    for r in 0..2 {
        let mut in_round: Vec<Variant> = result
            .rounds
            .iter()
            .filter(|s| s.round == r)
            .map(|s| s.variant)
            .collect();
        in_round.sort();
        assert_eq!(in_round, [Variant::Base, Variant::Lua], "round {r}");
    }
    assert!(result
        .rounds
        .iter()
        .chain(&result.capacity)
        .all(|s| s.variant != Variant::WASM && s.responses > 0));
    for w in &result.by_workers {
        assert!(w.memory_of(Variant::WASM).is_none());
        assert_eq!(w.memory_of(Variant::Lua).unwrap().wasm_vms, 0);
    }
    // The file says so on its own: no `wasm` anywhere in it but the reason.
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\"lua_only\": \"asked\""), "{text}");
    assert!(!text.contains("\"wasm\""), "a wasm sample in {text}");
    // What the report reads of it: Lua's cost with an interval, no Wasm figure.
    // (A round where an Envoy fell behind its rate is left out: on a busy test machine both
    // short rounds can be, and then there is nothing to pair.)
    let behind = filterbench_model::results::behind_rounds(&result.rounds).len();
    match paired_rounds(&result) {
        Some(rounds) => {
            let costs = Costs::of(&rounds);
            assert!(costs.lua_cpu_us.is_some());
            assert_eq!(
                (costs.wasm_cpu_us, costs.wasm_minus_lua_cpu_us),
                (None, None)
            );
        }
        None => assert_eq!(behind, 2, "only rounds left out leave nothing to pair"),
    }
}

/// `load --pair passthrough` measures the native pass-through beside Lua and Wasm; when its
/// library is not built, the run stops before any Envoy starts with one line naming the file and
/// how to measure without it; there is no Go pass-through to ask for.
#[test]
fn a_missing_native_pass_through_is_named_and_go_is_refused() {
    let empty = tempfile::tempdir().unwrap();
    let one_line = |args: &[&str], env: &[(&str, &std::ffi::OsStr)]| {
        let run = crate::support::filterbench(args, env, std::time::Duration::from_secs(60));
        let stderr = crate::support::text(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        let lines: Vec<String> = stderr
            .trim()
            .lines()
            .filter(|l| !l.starts_with("filterbench: installing"))
            .map(str::to_string)
            .collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        lines[0].clone()
    };
    let line = one_line(
        &["load", "--pair", "passthrough", "--rounds", "2"],
        &[("FILTERBENCH_NATIVE_DIR", empty.path().as_os_str())],
    );
    let missing = empty.path().join("passthrough.so");
    assert!(
        line.contains(&missing.display().to_string())
            && line.contains("not built")
            && line.contains("`--twin wasm` measures without it"),
        "{line}"
    );
    let line = one_line(&["load", "--pair", "passthrough", "--twin", "go"], &[]);
    assert!(line.contains("no Go Wasm pass-through"), "{line}");
}

#[test]
fn an_old_load_file_is_refused_naming_the_command_that_regenerates_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load/add_header.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, r#"{"schema_version": 1, "pair": "add_header"}"#).unwrap();
    let e = read_result::<LoadRun>(&path, LOAD_SCHEMA)
        .unwrap_err()
        .to_string();
    assert!(e.contains("add_header.json"), "{e}");
    assert!(e.contains("filterbench load --pair add_header"), "{e}");
}

#[test]
fn ctrl_c_during_a_load_run_writes_partial_results_and_reaps_envoy() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("add_header.json");
    crate::support::ensure_envoy();
    let mut child = crate::support::filterbench_command()
        .args([
            "load",
            "--pair",
            "add_header",
            "--workers",
            "1",
            "--rounds",
            "100",
            "--round-secs",
            "0.5",
        ])
        .args(["--warmup-secs", "0.1", "--connections", "2", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first finished round, then interrupt.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let start = Instant::now();
    while !line.contains("round 1 at") {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 || start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no round finished; last line {line:?}");
        }
    }
    let envoys: Vec<u32> = crate::support::envoy_processes()
        .into_iter()
        .filter(|(_, ppid)| *ppid == child.id())
        .map(|(pid, _)| pid)
        .collect();
    // Every twin the pair has is measured by default: Rust Wasm, Go Wasm and native.
    assert_eq!(
        envoys.len(),
        5,
        "base, lua, wasm, go-wasm and native Envoys"
    );
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("filterbench load did not stop after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let result: LoadRun = read_result(&out, LOAD_SCHEMA).unwrap();
    assert!(result.partial);
    assert_eq!(result.stopped, StopReason::Interrupted);
    assert!(!result.rounds.is_empty());
    std::thread::sleep(Duration::from_millis(200));
    let left: Vec<(u32, u32)> = crate::support::envoy_processes()
        .into_iter()
        .filter(|(pid, _)| envoys.contains(pid))
        .collect();
    assert!(left.is_empty(), "Envoys left behind: {left:?}");
}

/// `load --soak`: every variant at one open-loop rate at once, memory sampled throughout, the
/// growth per 100k requests said per variant and the points written.
#[test]
fn a_soak_samples_every_variants_memory_and_says_how_it_grew() {
    let copy = crate::support::ProjectCopy::new();
    let run = crate::support::filterbench(
        &[
            "load",
            "--pair",
            "add_header",
            "--twin",
            "wasm",
            "--soak",
            "8",
        ],
        &[("FILTERBENCH_ROOT", copy.root().as_os_str())],
        std::time::Duration::from_secs(300),
    );
    let stdout = crate::support::text(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        crate::support::text(&run.stderr)
    );
    let out = copy.path("reports/results/soak/add_header.json");
    let soak: filterbench_model::results::SoakRun =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(soak.variants, Variant::WITH_WASM.to_vec());
    for v in &soak.variants {
        let points: Vec<_> = soak.points.iter().filter(|p| p.variant == *v).collect();
        assert!(points.len() >= 5, "{v:?}: {} samples", points.len());
        assert!(points.iter().all(|p| p.rss_bytes > 0), "{v:?}");
        assert!(
            points.windows(2).all(|w| w[1].requests >= w[0].requests),
            "{v:?}: requests only grow"
        );
        assert!(points.last().unwrap().requests > 0, "{v:?}");
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(v.label()))
            .unwrap_or_else(|| panic!("no line for {}: {stdout}", v.label()));
        assert!(
            line.contains("no measurable growth")
                || line.contains("grows ")
                || line.contains("too few samples"),
            "{line}"
        );
    }
}
