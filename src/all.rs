//! `filterbench all`: the whole job from a fresh clone. Sets up what is missing (Envoy), proves
//! every pair equivalent (in-process and in real Envoy, and the generated Istio manifests as
//! Istio deploys them; the Rust Wasm twins also on 1,000 generated request sequences per pair,
//! in-process), measures the failure strategies, runs the in-process benches and the
//! real-Envoy load comparisons for every pair, renders the report and prints where it is.
//!
//! Profiles: the default takes about 19 minutes on a 2-core machine after the build (benches
//! `quick`; per pair, closed-loop capacity then paired open-loop rounds until the policy's target
//! interval width or its time budget; then a second pass, [`crate::second_pass`], gives the rest
//! of the budget to the pairs whose answer is still too close to call, then to those short of
//! the target width); `--full` measures longer and tighter (benches `full`, longer rounds, three
//! times the budgets). The pass-through Lua, Wasm and native filters are measured like
//! a pair (`load/passthrough.json`): what merely having each kind of filter costs. A pair whose
//! twins are not equivalent after step 2 (in-process or in real Envoy) is measured Lua-only in step
//! 4 (baseline and Lua: what the Lua filter adds, the most a migration could save), since its Wasm
//! module does not do what the Lua filter does. A pair with several configurations is measured
//! under each, each its own run (`load/<pair>.json` for `default`, `load/<pair>.config-<NAME>.json`
//! for another), the pair's time budget shared among them ([`crate::load::share_budget`]). Ctrl-C
//! stops the load step, keeps what was measured (the interrupted pair's result is marked partial),
//! renders the report from it and exits 130.
//!
//! With `--workspace DIR` the same steps run on the workspace's pairs (their twin crates built
//! first) and write under `DIR/reports/`; the deployed-manifest check and the failure strategies,
//! which are about the built-in pairs, are skipped (said in the output).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use filterbench_bench::perf::{self, Profile};
use filterbench_envoy::compare::{plan, Subject};
use filterbench_envoy::verify::Rig;
use filterbench_model::equivalence::{PairReport, Summary};
use filterbench_model::results::{load_path_of, results_dir, LoadPlan, LuaOnly, RoundMethod};
use filterbench_model::{Catalogue, Pair, TwinKind};

use crate::report;

#[derive(clap::Args)]
pub struct AllArgs {
    /// Longer, tighter measurements (benches: the `full` profile; load: 2 s rounds and three
    /// times the policy's time budget per pair), and a 300 s soak of every pair.
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

/// The whole job: each step is a function below, and each does what its subcommand does
/// (`verify`, `verify --twin`, `verify --deployed`, `bench`, `load`, `report`) through the same
/// functions.
pub fn all(ws: Option<&Path>, args: AllArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let catalogue = crate::workspace::open(ws)?;
    let root = catalogue.root.as_path();
    // Check the policy before spending a quarter of an hour measuring.
    let (policy, _) = report::policy(root, args.policy.as_deref())?;
    // And where the report goes: a directory this tool did not write is refused now, not after.
    report::check_site_out(root, args.out.as_deref(), args.force)?;
    // A workspace's twin crates are built here (cargo decides what is up to date).
    let pairs = crate::workspace::select_built(&catalogue, &args.pairs)?;
    let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();

    step(1, "set-up: Envoy, the Wasm modules");
    // Envoy and the loopback services, started once for every step.
    let (rig, version) = crate::envoy_rig()?;
    println!("  Envoy {version} ({})", rig.envoy_bin.display());
    for p in &pairs {
        catalogue.wasm_module(&p.name)?;
        catalogue.lua_source(&p.name)?;
    }
    println!("  {} pairs: {}", pairs.len(), names.join(", "));

    step(
        2,
        "equivalence: in-process, in real Envoy, and as Istio deploys it",
    );
    let proofs = Proofs::run(&rig, &version, &catalogue, &pairs)?;
    proofs.print_failures();

    let profile = if args.full {
        Profile::Full
    } else {
        Profile::Quick
    };
    step(
        3,
        &format!("in-process benches (criterion, profile {})", profile.name()),
    );
    let only = (pairs.len() == 1).then(|| names[0]);
    benches(&catalogue, profile, only)?;

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
    let session = crate::load::Session::with(rig, version);
    let mut measured = measure(&session, &catalogue, &pairs, &proofs, &load_plan)?;
    if !measured.interrupted && !args.sequential {
        let extra = policy.measurement.extra_budget_secs * if args.full { 3.0 } else { 1.0 };
        crate::second_pass::run(&session, &catalogue, &pairs, &policy, extra, &mut measured)?;
    }
    if args.full && !measured.interrupted {
        soaks(
            &session,
            &catalogue,
            &pairs,
            &proofs,
            &load_plan,
            &mut measured,
        )?;
    }

    step(5, "report");
    let rendered = report::render_site(
        root,
        &catalogue,
        args.policy.as_deref(),
        args.out.as_deref(),
        None,
        args.force,
    )?;
    let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
    let only = (names.len() < catalogue.pairs.len()).then_some(names.as_slice());
    report::print_summary_of(&rendered, only);
    println!("all done in {}", elapsed(started));
    Ok(finish(&proofs, &measured))
}

/// Step 3: the in-process benches, criterion's own report (and "Gnuplot not found") kept in a
/// log, not on screen; its tail is shown when they fail.
fn benches(catalogue: &Catalogue, profile: Profile, only: Option<&str>) -> anyhow::Result<()> {
    let t = Instant::now();
    let log = results_dir(&catalogue.root)
        .join("bench")
        .join("criterion.log");
    let benched = output_to(&log, || perf::run(catalogue, profile, only))?;
    if let Err(e) = benched {
        for line in tail(&log, 15) {
            println!("  | {line}");
        }
        return Err(anyhow::Error::new(e).context("in-process benches"));
    }
    println!(
        "  benches done ({}; criterion's own output in {})",
        elapsed(t),
        log.display()
    );
    Ok(())
}

/// Generated request sequences per pair in `all` (the Rust Wasm twin in-process, release
/// build: about a second per pair).
const GENERATED_CASES: u32 = 1000;

/// Runs `f` with the process's stdout and stderr going to `log` (created, or replaced: it is
/// this tool's own file), put back afterwards, also when `f` panics.
fn output_to<R>(log: &Path, f: impl FnOnce() -> R) -> anyhow::Result<R> {
    use std::io::Write as _;
    use std::os::fd::AsRawFd;

    /// The saved descriptors 1 and 2; dropping it puts them back.
    struct Saved([libc::c_int; 2]);
    impl Drop for Saved {
        fn drop(&mut self) {
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
            for (fd, saved) in [1, 2].into_iter().zip(self.0) {
                // SAFETY: `saved` is a descriptor this process duplicated and still owns.
                unsafe {
                    libc::dup2(saved, fd);
                    libc::close(saved);
                }
            }
        }
    }

    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: plain descriptor calls on 1, 2 and the file's open descriptor.
    let saved = unsafe { Saved([libc::dup(1), libc::dup(2)]) };
    anyhow::ensure!(
        saved.0.iter().all(|fd| *fd >= 0),
        "duplicating stdout and stderr"
    );
    for fd in [1, 2] {
        // SAFETY: as above.
        unsafe {
            libc::dup2(file.as_raw_fd(), fd);
        }
    }
    let result = f();
    drop(saved);
    Ok(result)
}

/// The last `n` lines of a text file (none if it cannot be read).
fn tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Step 2's results: every kind of twin proven, in-process and in real Envoy, and what Istio
/// deploys.
struct Proofs {
    /// The Rust Wasm twins in-process and in real Envoy.
    in_process: Vec<PairReport>,
    envoy: Vec<PairReport>,
    /// Pairs whose Rust Wasm twin differs from the Lua filter on a generated request sequence
    /// (in-process; [`GENERATED_CASES`] per pair, the fixed seed).
    generated: Vec<String>,
    /// The other ways out (Go Wasm, native dynamic modules), in-process where the kind runs
    /// there, and in real Envoy.
    other_kinds: Vec<(TwinKind, Vec<PairReport>)>,
    /// The generated manifests as Istio deploys them (empty for a workspace).
    deployed: Vec<PairReport>,
}

impl Proofs {
    fn run(
        rig: &Rig,
        version: &str,
        catalogue: &Catalogue,
        pairs: &[&Pair],
    ) -> anyhow::Result<Proofs> {
        let root = catalogue.root.as_path();
        let t = Instant::now();
        let in_process = crate::verify_in_process_reports(catalogue, pairs, TwinKind::Wasm, false)?;
        report::save_verify(root, "in_process", None, &in_process)?;
        println!("  in-process: {}", Summary::of(&in_process).line());
        let seed = filterbench_bench::harness::generate::DEFAULT_SEED;
        let ws = catalogue.layout.workspace.then_some(root);
        let generated = crate::generated::check_pairs(
            catalogue,
            pairs,
            GENERATED_CASES,
            seed,
            ws,
            "  ",
            false,
        )?;
        let per = if pairs.iter().any(|p| p.has_several_configs()) {
            "per pair and configuration"
        } else {
            "per pair"
        };
        println!(
            "  generated sequences in-process ({GENERATED_CASES} {per}, seed {seed}): {} agree, \
             {} differ",
            pairs.len() - generated.len(),
            generated.len()
        );
        let envoy =
            crate::verify_envoy_reports(rig, version, catalogue, pairs, TwinKind::Wasm, false)?;
        report::save_verify(root, "envoy", Some(version.to_string()), &envoy)?;
        println!(
            "  real Envoy: {}  ({})",
            Summary::of(&envoy).line(),
            elapsed(t)
        );
        // A pair with several configurations: what was proven under each.
        for r in &envoy {
            if let Some(line) = r.configs_line() {
                println!("  {}: by configuration: {line}", r.pair);
            }
        }
        let mut verified_in_envoy = envoy.clone();
        let mut other_kinds = Vec::new();
        for kind in TwinKind::ALL.into_iter().filter(|k| *k != TwinKind::Wasm) {
            let (reports, in_envoy) = prove_kind(rig, version, catalogue, pairs, kind)?;
            verified_in_envoy.extend(in_envoy);
            if !reports.is_empty() {
                other_kinds.push((kind, reports));
            }
        }
        let deployed = prove_deployed(rig, version, catalogue, pairs, &verified_in_envoy)?;
        Ok(Proofs {
            in_process,
            generated,
            envoy,
            other_kinds,
            deployed,
        })
    }

    /// The pairs whose Rust Wasm twin is not equivalent (in-process or in Envoy): measured
    /// Lua-only, since the twin does not do what the Lua filter does.
    fn unproven(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        let failing = self
            .envoy
            .iter()
            .chain(&self.in_process)
            .filter(|r| !r.equivalent);
        for pair in failing.map(|r| &r.pair).chain(&self.generated) {
            if !v.contains(&pair.as_str()) {
                v.push(pair.as_str());
            }
        }
        v
    }

    /// The other kinds of twin of `pair` proven equivalent by every check of its kind (its
    /// deployed manifests included).
    fn proven_kinds(&self, pair: &str) -> Vec<TwinKind> {
        let deployed_prefix = format!("{pair} (");
        self.other_kinds
            .iter()
            .filter(|(kind, reports)| {
                let mine: Vec<_> = reports.iter().filter(|r| r.pair == pair).collect();
                let deployed_holds = self
                    .deployed
                    .iter()
                    .filter(|r| r.twin == *kind && r.pair.starts_with(&deployed_prefix))
                    .all(|r| r.equivalent);
                !mine.is_empty() && mine.iter().all(|r| r.equivalent) && deployed_holds
            })
            .map(|(kind, _)| *kind)
            .collect()
    }

    /// Each pair that failed a check of its Rust Wasm twin (corpus, generated sequences) or of
    /// the deployed manifests, once, with the checks it failed.
    fn failed_checks(&self) -> Vec<(String, Vec<&'static str>)> {
        let mut differ: Vec<(String, Vec<&'static str>)> = Vec::new();
        for (check, reports) in [
            ("in-process", &self.in_process),
            ("real Envoy", &self.envoy),
            ("deployed", &self.deployed),
        ] {
            // The other kinds' checks decide only whether that kind is proven.
            for r in reports
                .iter()
                .filter(|r| !r.equivalent && r.twin == TwinKind::Wasm)
            {
                match differ.iter_mut().find(|(p, _)| *p == r.pair) {
                    Some((_, checks)) => checks.push(check),
                    None => differ.push((r.pair.clone(), vec![check])),
                }
            }
        }
        for pair in &self.generated {
            match differ.iter_mut().find(|(p, _)| p == pair) {
                Some((_, checks)) => checks.push("generated sequences"),
                None => differ.push((pair.clone(), vec!["generated sequences"])),
            }
        }
        differ
    }

    fn print_failures(&self) {
        for r in self
            .envoy
            .iter()
            .chain(&self.deployed)
            .filter(|r| !r.equivalent)
        {
            for line in r.failure_lines().iter().take(5) {
                println!("{line}");
            }
        }
    }
}

/// The twins of one other kind (Go Wasm, native) proven like the Rust Wasm ones: in-process
/// where the kind runs there, and in real Envoy; kept beside the Rust Wasm results. Answers
/// every report and, apart, the real-Envoy ones (what the deployed check compares with). Empty
/// when no selected pair has a twin of this kind.
fn prove_kind(
    rig: &Rig,
    version: &str,
    catalogue: &Catalogue,
    pairs: &[&Pair],
    kind: TwinKind,
) -> anyhow::Result<(Vec<PairReport>, Vec<PairReport>)> {
    let root = catalogue.root.as_path();
    let with: Vec<&Pair> = pairs
        .iter()
        .copied()
        .filter(|p| catalogue.twin(&p.name, kind).is_some())
        .collect();
    if with.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let t = Instant::now();
    let mut reports = Vec::new();
    if kind.runs_in_process() {
        let r = crate::verify_in_process_reports(catalogue, &with, kind, false)?;
        report::save_verify(root, "in_process", None, &r)?;
        println!(
            "  {} twins in-process: {}",
            kind.label(),
            Summary::of(&r).line()
        );
        reports.extend(r);
    }
    let r = crate::verify_envoy_reports(rig, version, catalogue, &with, kind, false)?;
    report::save_verify(root, "envoy", Some(version.to_string()), &r)?;
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
    reports.extend(r.iter().cloned());
    Ok((reports, r))
}

/// What Istio deploys (TrafficExtension and legacy manifests, translated as Istio does) must
/// give the verified outcomes; and what Envoy does when a filter fails, per failure strategy.
/// Both are about the built-in pairs and the suite's own manifests: skipped for a workspace.
fn prove_deployed(
    rig: &Rig,
    version: &str,
    catalogue: &Catalogue,
    pairs: &[&Pair],
    envoy: &[PairReport],
) -> anyhow::Result<Vec<PairReport>> {
    if catalogue.layout.workspace {
        println!(
            "  deployed manifests and failure strategies: skipped (only for the built-in pairs)"
        );
        return Ok(Vec::new());
    }
    let t = Instant::now();
    let (control_plane, why_not) = crate::deployed::ControlPlaneChoice::istiod_if_go();
    if let Some(why) = why_not {
        println!(
            "  deployed manifests: istiod cannot be built ({why}); the project's own \
             translation serves them instead"
        );
    }
    let (deployed, served_by) = crate::deployed::deployed_reports(
        rig,
        version,
        catalogue,
        pairs,
        &TwinKind::ALL,
        envoy,
        crate::deployed::ApiChoice::Both,
        control_plane,
        false,
    )?;
    report::save_verify(
        &catalogue.root,
        "deployed",
        Some(version.to_string()),
        &deployed,
    )?;
    let by_kind: Vec<String> = TwinKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let of_kind: Vec<PairReport> = deployed
                .iter()
                .filter(|r| r.twin == kind)
                .cloned()
                .collect();
            (!of_kind.is_empty()).then(|| format!("{kind}: {}", Summary::of(&of_kind).line()))
        })
        .collect();
    println!(
        "  deployed manifests (TrafficExtension, legacy; native as an EnvoyFilter), served by {}: {}",
        served_by
            .as_deref()
            .unwrap_or("the project's own translation"),
        by_kind.join("; ")
    );
    crate::deployed::measure_failure_strategies(rig, &catalogue.root)?;
    println!("  failure strategies measured ({})", elapsed(t));
    Ok(deployed)
}

/// Step 4's outcome.
pub struct Measured {
    /// Ctrl-C stopped the load step.
    pub interrupted: bool,
    /// Runs that ended in an error (what they measured before it is kept, marked partial).
    pub failed: Vec<String>,
    /// Each finished run with what it measured and where its file is (the second pass adds
    /// rounds to them).
    pub runs: Vec<crate::second_pass::Done>,
}

/// Step 4: every pair (Lua-only where its Rust Wasm twin is unproven; with every other kind of
/// twin proven) and the pass-through filters, each measured as `filterbench load` measures it,
/// in one [`Session`](crate::load::Session).
fn measure(
    session: &crate::load::Session,
    catalogue: &Catalogue,
    pairs: &[&Pair],
    proofs: &Proofs,
    load_plan: &LoadPlan,
) -> anyhow::Result<Measured> {
    let unproven = proofs.unproven();
    if !unproven.is_empty() {
        println!(
            "  Lua only (base / Lua, no Wasm: the twin is not equivalent): {}",
            unproven.join(", ")
        );
    }
    let t = Instant::now();
    let subjects = load_subjects(catalogue, pairs, proofs, load_plan, &unproven)?;
    let bar = progress_bar(subjects.len());
    let mut measured = Measured {
        interrupted: false,
        failed: Vec::new(),
        runs: Vec::new(),
    };
    for (subject, plan) in &subjects {
        // `strip [admin]` for a configuration other than `default`.
        let label = match &subject.config_name {
            Some(config) => format!("{} [{config}]", subject.name),
            None => subject.name.clone(),
        };
        bar.set_message(format!("{label}: starting"));
        let out = load_path_of(
            &results_dir(&catalogue.root),
            &subject.name,
            subject.config(),
        );
        let result = session.measure(subject, plan, &out, &mut |line| {
            bar.set_message(format!("{label}: {line}"));
        });
        let line = match &result {
            Ok(result) => match &result.failure {
                Some(why) => format!(
                    "  {label}: {} (partial: {why})",
                    crate::load::one_line(result)
                ),
                None => format!("  {label}: {}", crate::load::one_line(result)),
            },
            Err(e) => format!("  {label}: load failed, nothing measured: {e:#}"),
        };
        if bar.is_hidden() {
            println!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
        match result {
            Ok(run) if run.failure.is_none() => measured.runs.push(crate::second_pass::Done {
                subject: subject.clone(),
                label,
                out,
                run,
            }),
            _ => measured.failed.push(label),
        }
        if session.interrupted() {
            measured.interrupted = true;
            break;
        }
    }
    bar.finish_and_clear();
    println!("  load done ({})", elapsed(t));
    Ok(measured)
}

/// What step 4 measures, each with its plan: every configuration of every pair as its own run
/// (a pair's time budget shared among its configurations, `load::share_budget`), Lua-only where
/// the Rust Wasm twin is `unproven`, with every other kind of twin proven; then the pass-through
/// filters (what merely having a Lua, a Wasm or a native filter costs, the suite's own, also for a
/// workspace).
fn load_subjects(
    catalogue: &Catalogue,
    pairs: &[&Pair],
    proofs: &Proofs,
    load_plan: &LoadPlan,
    unproven: &[&str],
) -> anyhow::Result<Vec<(Subject, LoadPlan)>> {
    let mut subjects: Vec<(Subject, LoadPlan)> = Vec::new();
    for p in pairs {
        let configs: Vec<String> = p.configurations().into_iter().map(String::from).collect();
        let plan = crate::load::share_budget(load_plan, configs.len());
        if let Some(note) = crate::load::configs_note(p, &configs, &plan) {
            println!("  {note}");
        }
        for config in &configs {
            let subject = if unproven.contains(&p.name.as_str()) {
                Subject::lua_side_of_pair_under(catalogue, p, LuaOnly::NotEquivalent, config)?
            } else {
                Subject::of_pair_under(catalogue, p, config)?.with_twins(
                    catalogue,
                    p,
                    &proofs.proven_kinds(&p.name),
                )?
            };
            if subject.whole_corpus_mix {
                println!("  {}", crate::load::whole_corpus_note(&subject));
            }
            subjects.push((subject, plan.clone()));
        }
    }
    subjects.push((
        Subject::passthrough(&filterbench_model::project_root())?,
        load_plan.clone(),
    ));
    Ok(subjects)
}

/// How long `all --full` soaks each pair (`filterbench load --pair P --soak SECS` soaks one pair
/// for as long as asked).
pub const FULL_SOAK_SECS: f64 = 300.0;

/// With `--full`: each pair's soak ([`FULL_SOAK_SECS`], its `default` configuration, every
/// variant measured), a line per pair.
fn soaks(
    session: &crate::load::Session,
    catalogue: &Catalogue,
    pairs: &[&Pair],
    proofs: &Proofs,
    load_plan: &LoadPlan,
    measured: &mut Measured,
) -> anyhow::Result<()> {
    use filterbench_model::results::{growth_kib_per_100k, growth_words};
    let t = Instant::now();
    println!(
        "  soaks: {} s per pair, every variant at once at a moderate open-loop rate",
        FULL_SOAK_SECS
    );
    let unproven = proofs.unproven();
    let subjects = load_subjects(catalogue, pairs, proofs, load_plan, &unproven)?;
    for (subject, _) in subjects.iter().filter(|(s, _)| {
        s.config_name.is_none() && s.name != filterbench_envoy::compare::PASSTHROUGH
    }) {
        let bar = progress_bar(1);
        let result = crate::load::run_soak(
            session,
            subject,
            FULL_SOAK_SECS,
            &catalogue.root,
            &mut |line| {
                bar.set_message(format!("{} soak: {line}", subject.name));
            },
        );
        bar.finish_and_clear();
        match result {
            Ok((run, _)) => {
                let words: Vec<String> = run
                    .variants
                    .iter()
                    .map(|v| format!("{} {}", v.id(), growth_words(growth_kib_per_100k(&run, *v))))
                    .collect();
                println!("  {} soak: {}", subject.name, words.join("; "));
            }
            Err(e) => {
                println!("  {} soak failed: {e:#}", subject.name);
                measured.failed.push(format!("{} soak", subject.name));
            }
        }
        if session.interrupted() {
            measured.interrupted = true;
            break;
        }
    }
    println!("  soaks done ({})", elapsed(t));
    Ok(())
}

fn progress_bar(len: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("  {bar:24} {pos}/{len} runs  {elapsed_precise}  {msg}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// The exit code and its explanation: interrupted, a load run failed, a check failed, or 0.
fn finish(proofs: &Proofs, measured: &Measured) -> ExitCode {
    use filterbench_model::exit;
    if measured.interrupted {
        println!("stopped early (Ctrl-C): the report shows what was measured");
        return exit::code(exit::INTERRUPTED);
    }
    if !measured.failed.is_empty() {
        println!(
            "load failed for: {} (what was measured before the error is kept, marked partial; \
             the report shows it)",
            measured.failed.join(", ")
        );
        return exit::code(exit::BAD_INPUT);
    }
    let differ = proofs.failed_checks();
    if differ.is_empty() {
        return ExitCode::SUCCESS;
    }
    let unproven = proofs.unproven();
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
    exit::code(exit::NOT_EQUIVALENT)
}
