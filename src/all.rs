//! `filterbench all`: the whole job from a fresh clone. Sets up what is missing (Envoy), proves
//! every pair equivalent (in-process and in real Envoy, and the generated Istio manifests as
//! Istio deploys them), measures the failure strategies, runs the in-process benches and the
//! real-Envoy load comparisons for every pair, renders the report and prints where it is.
//!
//! Profiles: the default takes about 15-18 minutes on a 2-core machine after the build (benches
//! `quick`; per pair, closed-loop capacity then paired open-loop rounds until the policy's target
//! interval width or its time budget); `--full` measures longer and tighter (benches `full`,
//! longer rounds, three times the budget). The pass-through Lua and Wasm filters are measured
//! like a pair (`load/passthrough.json`): what merely having each kind of filter costs. A pair
//! whose twins are not equivalent after step 2 (in-process or in real Envoy) is measured Lua-only
//! in step 4 (baseline and Lua: what the Lua filter adds, the most a migration could save), since
//! its Wasm module does not do what the Lua filter does. Ctrl-C
//! stops the load step, keeps what was measured (the interrupted pair's result is marked
//! partial), renders the report from it and exits 130.
//!
//! With `--workspace DIR` the same steps run on the workspace's pairs (their twin crates built
//! first) and write under `DIR/reports/`; the deployed-manifest check and the failure strategies,
//! which are about the built-in pairs, are skipped (said in the output).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use filterbench_bench::perf::{self, Profile};
use filterbench_envoy::compare::{compare, pin_current_thread, placement, plan, Subject};
use filterbench_envoy::envoy::{envoy_version, find_envoy, graceful_interrupts};
use filterbench_envoy::verify::Rig;
use filterbench_model::equivalence::Summary;
use filterbench_model::results::{
    load_path, results_dir, write_json_atomically, LuaOnly, RoundMethod,
};
use filterbench_model::TwinKind;

use crate::report;

#[derive(clap::Args)]
pub struct AllArgs {
    /// Longer, tighter measurements (benches: the `full` profile; load: 2 s rounds and three
    /// times the policy's time budget per pair).
    #[arg(long)]
    pub full: bool,
    /// Load rounds one variant after another (rotating order) instead of every variant at the
    /// same moment (the default, with a sequential self-check in the same run).
    #[arg(long)]
    pub sequential: bool,
    /// Only this pair (repeatable); default every pair of the catalogue.
    #[arg(long = "pair", value_name = "NAME")]
    pub pairs: Vec<String>,
    /// The migration policy for the report (default reports/policy.toml).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Where to write the site (default reports/site).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write the site even where `--out` names a directory this tool did not write: what is
    /// there is moved to a named backup beside it first (`DIR.bak-<UTC time>`), never deleted.
    #[arg(long)]
    pub force: bool,
}

fn step(n: usize, what: &str) {
    println!("\n[{n}/5] {what}");
}

fn elapsed(t: Instant) -> String {
    format!("{:.0} s", t.elapsed().as_secs_f64())
}

pub fn all(ws: Option<&Path>, args: AllArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let catalogue = crate::workspace::open(ws)?;
    let root = catalogue.root.as_path();
    let workspace = catalogue.layout.workspace;
    // Check the policy before spending a quarter of an hour measuring.
    let (policy, _) = report::policy(root, args.policy.as_deref())?;
    // And where the report goes: a directory this tool did not write is refused now, not after.
    report::check_site_out(root, args.out.as_deref(), args.force)?;
    // A workspace's twin crates are built here (cargo decides what is up to date).
    let pairs = crate::workspace::select_built(&catalogue, &args.pairs)?;
    let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
    let profile = if args.full {
        Profile::Full
    } else {
        Profile::Quick
    };

    step(1, "set-up: Envoy, the Wasm modules");
    let bin = find_envoy()?;
    let version = envoy_version(&bin)?;
    println!("  Envoy {version} ({})", bin.display());
    for p in &pairs {
        catalogue.wasm_module(&p.name)?;
        catalogue.lua_source(&p.name)?;
    }
    println!("  {} pairs: {}", pairs.len(), names.join(", "));

    step(
        2,
        "equivalence: in-process, in real Envoy, and as Istio deploys it",
    );
    let t = Instant::now();
    let in_process = crate::verify_in_process_reports(&catalogue, &pairs, TwinKind::Wasm, false)?;
    report::save_verify(root, "in_process", None, &in_process)?;
    println!("  in-process: {}", Summary::of(&in_process).line());
    let (envoy, _) = crate::verify_envoy_reports(&catalogue, &pairs, TwinKind::Wasm, false)?;
    report::save_verify(root, "envoy", Some(version.clone()), &envoy)?;
    println!(
        "  real Envoy: {}  ({})",
        Summary::of(&envoy).line(),
        elapsed(t)
    );
    // The other ways out (Go Wasm, native dynamic modules): each kind's twins proven like the
    // Rust Wasm ones (in-process where the kind runs there, and in real Envoy); a twin is
    // measured only once proven. Those results are kept beside the Rust Wasm ones.
    let mut other_kinds: Vec<(TwinKind, Vec<filterbench_model::equivalence::PairReport>)> =
        Vec::new();
    for kind in TwinKind::ALL.into_iter().filter(|k| *k != TwinKind::Wasm) {
        let with: Vec<&filterbench_model::Pair> = pairs
            .iter()
            .copied()
            .filter(|p| catalogue.twin(&p.name, kind).is_some())
            .collect();
        if with.is_empty() {
            continue;
        }
        let t = Instant::now();
        let mut reports = Vec::new();
        if kind.runs_in_process() {
            let r = crate::verify_in_process_reports(&catalogue, &with, kind, false)?;
            report::save_verify(root, "in_process", None, &r)?;
            println!(
                "  {} twins in-process: {}",
                kind.label(),
                Summary::of(&r).line()
            );
            reports.extend(r);
        }
        let (r, _) = crate::verify_envoy_reports(&catalogue, &with, kind, false)?;
        report::save_verify(root, "envoy", Some(version.clone()), &r)?;
        println!(
            "  {} twins in real Envoy: {}  ({})",
            kind.label(),
            Summary::of(&r).line(),
            elapsed(t)
        );
        for r in r.iter().filter(|r| !r.equivalent) {
            for line in r.failure_lines().iter().take(3) {
                println!("  {line}");
            }
        }
        reports.extend(r);
        other_kinds.push((kind, reports));
    }
    // What Istio deploys (TrafficExtension and legacy manifests, translated as Istio does) must
    // give the verified outcomes; and what Envoy does when a filter fails, per failure strategy.
    // Both are about the built-in pairs and the suite's own manifests: not run for a workspace.
    let t = Instant::now();
    let deployed = if workspace {
        println!(
            "  deployed manifests and failure strategies: skipped (only for the built-in pairs)"
        );
        Vec::new()
    } else {
        let (deployed, _, _) = crate::deployed::deployed_reports(
            &catalogue,
            &pairs,
            &envoy,
            crate::deployed::ApiChoice::Both,
            crate::deployed::ControlPlaneChoice::Own,
            false,
        )?;
        report::save_verify(root, "deployed", Some(version.clone()), &deployed)?;
        println!(
            "  deployed manifests (TrafficExtension, legacy): {}",
            Summary::of(&deployed).line()
        );
        crate::deployed::measure_failure_strategies(root)?;
        println!("  failure strategies measured ({})", elapsed(t));
        deployed
    };
    // One line per pair that failed any check, naming the checks it failed.
    let mut differ: Vec<(String, Vec<&str>)> = Vec::new();
    for (check, reports) in [
        ("in-process", &in_process),
        ("real Envoy", &envoy),
        ("deployed", &deployed),
    ] {
        for r in reports.iter().filter(|r| !r.equivalent) {
            match differ.iter_mut().find(|(p, _)| *p == r.pair) {
                Some((_, checks)) => checks.push(check),
                None => differ.push((r.pair.clone(), vec![check])),
            }
        }
    }
    for r in envoy.iter().chain(&deployed).filter(|r| !r.equivalent) {
        for line in r.failure_lines().iter().take(5) {
            println!("{line}");
        }
    }

    step(
        3,
        &format!("in-process benches (criterion, profile {})", profile.name()),
    );
    let t = Instant::now();
    let only = (pairs.len() == 1).then(|| names[0]);
    perf::run(&catalogue, profile, only).context("in-process benches")?;
    println!("  benches done ({})", elapsed(t));

    // A twin that is not equivalent does not do what the Lua filter does: measuring it would
    // compare the Lua filter with something else. Those pairs are measured Lua-only.
    let unproven: Vec<&str> = envoy
        .iter()
        .chain(&in_process)
        .filter(|r| !r.equivalent)
        .map(|r| r.pair.as_str())
        .fold(Vec::new(), |mut v, p| {
            if !v.contains(&p) {
                v.push(p);
            }
            v
        });
    let mut load_plan = plan(&policy.measurement, args.full);
    if args.sequential {
        load_plan.method = RoundMethod::Sequential;
        load_plan.check_rounds = 0;
    }
    step(
        4,
        &format!(
            "real-Envoy load: base / Lua / each proven twin, {}",
            crate::load::plan_words(&load_plan)
        ),
    );
    if !unproven.is_empty() {
        println!(
            "  Lua only (base / Lua, no Wasm: the twin is not equivalent): {}",
            unproven.join(", ")
        );
    }
    let t = Instant::now();
    // Pinned before the rig's runtime starts, so every thread of the driver inherits the mask.
    if let Some(cpus) = placement().driver_cpus {
        pin_current_thread(&cpus);
    }
    let stop = graceful_interrupts();
    let rig = Rig::new(bin).context("starting the loopback echo and auth services")?;
    let mut subjects = Vec::new();
    for p in &pairs {
        subjects.push(if unproven.contains(&p.name.as_str()) {
            Subject::lua_side_of_pair(&catalogue, p, LuaOnly::NotEquivalent)?
        } else {
            // Every other kind of twin this pair has that was proven, in-process and in Envoy.
            let proven: Vec<TwinKind> = other_kinds
                .iter()
                .filter(|(_, reports)| {
                    let mine: Vec<_> = reports.iter().filter(|r| r.pair == p.name).collect();
                    !mine.is_empty() && mine.iter().all(|r| r.equivalent)
                })
                .map(|(kind, _)| *kind)
                .collect();
            Subject::of_pair(&catalogue, p)?.with_twins(&catalogue, p, &proven)?
        });
    }
    // What merely having a Lua or a Wasm filter costs, measured like a pair (the suite's own
    // pass-through guests, also for a workspace).
    subjects.push(Subject::passthrough(&filterbench_model::project_root())?);
    let bar = ProgressBar::new(subjects.len() as u64);
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("  {bar:24} {pos}/{len} runs  {elapsed_precise}  {msg}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    let mut interrupted = false;
    // Pairs whose load run failed: the run stops at the error, keeps what it measured (marked
    // partial, with the reason), and the next pairs are still measured and the report rendered.
    let mut failed: Vec<String> = Vec::new();
    for subject in &subjects {
        bar.set_message(format!("{}: starting", subject.name));
        let result = compare(
            &rig,
            subject,
            &load_plan,
            &version,
            stop.clone(),
            &mut |line| {
                bar.set_message(format!("{}: {line}", subject.name));
            },
        );
        let line = match &result {
            Ok(result) => {
                let out = load_path(&results_dir(root), &subject.name);
                write_json_atomically(&out, result)?;
                match &result.failure {
                    Some(why) => format!(
                        "  {}: {} (partial: {why})",
                        subject.name,
                        crate::load::one_line(result)
                    ),
                    None => format!("  {}: {}", subject.name, crate::load::one_line(result)),
                }
            }
            Err(e) => format!("  {}: load failed, nothing measured: {e}", subject.name),
        };
        if bar.is_hidden() {
            println!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
        if result.as_ref().map_or(true, |r| r.failure.is_some()) {
            failed.push(subject.name.clone());
        }
        if stop.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
    }
    bar.finish_and_clear();
    drop(rig);
    println!("  load done ({})", elapsed(t));

    step(5, "report");
    let rendered = report::render_site(
        root,
        &catalogue,
        args.policy.as_deref(),
        args.out.as_deref(),
        None,
        args.force,
    )?;
    report::print_summary(&rendered);
    println!("all done in {}", elapsed(started));
    if interrupted {
        println!("stopped early (Ctrl-C): the report shows what was measured");
        return Ok(filterbench_model::exit::code(
            filterbench_model::exit::INTERRUPTED,
        ));
    }
    if !failed.is_empty() {
        println!(
            "load failed for: {} (what was measured before the error is kept, marked partial; \
             the report shows it)",
            failed.join(", ")
        );
        return Ok(filterbench_model::exit::code(
            filterbench_model::exit::BAD_INPUT,
        ));
    }
    if !differ.is_empty() {
        for (pair, checks) in &differ {
            let measured = if unproven.contains(&pair.as_str()) {
                "measured Lua-only; the report answers from what the Lua filter costs: keep Lua, \
                 or prove the twin first"
            } else {
                "the twin itself is equivalent and was measured; what Istio deploys differs"
            };
            println!(
                "not equivalent: {pair} (failed {}; {measured})",
                checks.join(", ")
            );
        }
        return Ok(filterbench_model::exit::code(
            filterbench_model::exit::NOT_EQUIVALENT,
        ));
    }
    Ok(ExitCode::SUCCESS)
}
