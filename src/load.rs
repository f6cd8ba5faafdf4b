//! `filterbench load`: the real-Envoy comparison of one pair (see `filterbench_envoy::compare`
//! for the method), its table, and the one-line summary `filterbench all` prints per pair.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;

use filterbench_envoy::compare::{compare, pin_process, placement, plan, Subject, PASSTHROUGH};
use filterbench_envoy::envoy::graceful_interrupts;
use filterbench_envoy::verify::Rig;
use filterbench_model::results::{
    behind_rounds, results_dir, write_json_atomically, LoadPlan, LoadRun, LuaOnly, RoundMethod,
    Variant,
};
use filterbench_model::stats::{median, Interval};
use filterbench_model::{project_root, TwinKind};
use filterbench_reports::decision::Costs;
use filterbench_reports::evidence::{method_check, paired_rounds};

#[derive(clap::Args)]
pub struct LoadArgs {
    /// The pair to measure (`passthrough`: the pass-through Lua, Wasm and native filters, what
    /// merely having each kind of filter costs).
    #[arg(long, value_name = "NAME")]
    pair: String,
    /// Envoy worker counts, comma-separated (the comparison runs at 1; the others measure
    /// capacity and memory).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    workers: Vec<u32>,
    /// Exactly this many paired rounds (default: the policy's adaptive rule).
    #[arg(long)]
    rounds: Option<usize>,
    /// Seconds per variant per round.
    #[arg(long)]
    round_secs: Option<f64>,
    /// Warm-up seconds per variant.
    #[arg(long)]
    warmup_secs: Option<f64>,
    /// Connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Longer rounds and three times the policy's time budget.
    #[arg(long)]
    full: bool,
    /// The policy whose [measurement] section sets the rounds (default reports/policy.toml).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Where to write the JSON result (default reports/results/load/<pair>.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the result as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Measure the Lua filter alone (baseline and Lua; no Wasm listener, no Wasm module needed):
    /// what it adds over no filter, the most a migration could save. For a twin that is not
    /// written or not proven equivalent yet.
    #[arg(long)]
    lua_only: bool,
    /// Rounds one variant after another (rotating order), today's method before simultaneous
    /// rounds, instead of every variant at the same moment (the default, which also runs a
    /// sequential self-check in the same run).
    #[arg(long)]
    sequential: bool,
    /// Instead of the comparison: a soak of SECS seconds (at most 3600). Every variant runs at
    /// one moderate open-loop rate, all at once, and each Envoy's memory is sampled throughout.
    /// Prints the growth per 100k requests with its interval (or "no measurable growth") and
    /// writes reports/results/soak/<pair>.json.
    #[arg(long, value_name = "SECS")]
    soak: Option<f64>,
    /// The twins measured beside Lua, comma-separated: wasm (Rust proxy-wasm), go (Go
    /// proxy-wasm), native (Envoy dynamic module) or all (default: every kind the pair has).
    /// The Rust Wasm twin is always measured (the stopping rule and the report read it); each
    /// other twin is one more variant of every round.
    #[arg(long, value_delimiter = ',', default_value = "all", value_name = "KIND",
          value_parser = parse_twin_kinds)]
    twin: Vec<TwinKinds>,
    /// The pair's configurations to measure, comma-separated or repeated (default: every one,
    /// `default` first). Each is its own paired run (baseline, Lua and each twin under that
    /// configuration, the requests recorded under it as the mix), the policy's time budget
    /// shared among them; `default` is written to `load/<pair>.json`, another NAME to
    /// `load/<pair>.config-<NAME>.json`.
    #[arg(long = "config", value_delimiter = ',', value_name = "NAME")]
    configs: Vec<String>,
}

/// One `--twin` value: a kind, or every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwinKinds {
    One(TwinKind),
    All,
}

fn parse_twin_kinds(s: &str) -> Result<TwinKinds, String> {
    match s {
        "all" => Ok(TwinKinds::All),
        kind => kind.parse().map(TwinKinds::One),
    }
}

/// The kinds `--twin` asks for that pair `name` has (all its kinds for `all`); a kind asked for
/// by name that the pair has no twin of is an error naming the pair.
fn twin_kinds(
    catalogue: &filterbench_model::Catalogue,
    name: &str,
    asked: &[TwinKinds],
) -> anyhow::Result<Vec<TwinKind>> {
    let has: Vec<TwinKind> = catalogue.twins(name).iter().map(|t| t.kind).collect();
    let mut kinds = Vec::new();
    for kind in TwinKind::ALL {
        let named = asked.contains(&TwinKinds::One(kind));
        if named && !has.contains(&kind) {
            anyhow::bail!(
                "{}: pair {name:?} has no {} twin ({}/{name}/)",
                catalogue.path.display(),
                kind.label(),
                kind.source_folder()
            );
        }
        if named || (asked.contains(&TwinKinds::All) && has.contains(&kind)) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// The configurations `load` measures: those `--config` names (each checked, in the pair's
/// order), or every one of the pair's; only `default` for the pass-through filters.
fn configurations(
    catalogue: &filterbench_model::Catalogue,
    args: &LoadArgs,
) -> anyhow::Result<Vec<String>> {
    let default = filterbench_model::catalogue::DEFAULT_CONFIG;
    if args.pair == PASSTHROUGH {
        if let Some(other) = args.configs.iter().find(|c| *c != default) {
            anyhow::bail!("{PASSTHROUGH}: has no configuration {other:?} (only `{default}`)");
        }
        return Ok(vec![default.to_string()]);
    }
    let pair = catalogue.select(Some(&args.pair))?[0];
    for name in &args.configs {
        if let Some(problem) = pair.config_problem(name) {
            anyhow::bail!("{}: {problem}", catalogue.path.display());
        }
    }
    Ok(pair
        .configurations()
        .into_iter()
        .filter(|c| args.configs.is_empty() || args.configs.iter().any(|a| a == c))
        .map(str::to_string)
        .collect())
}

/// What `load` measures under each of `configs`: a pair (with the twins `--twin` asks for),
/// its Lua side alone (`--lua-only`: the twin is not built), or the pass-through filter.
fn subjects(
    catalogue: &filterbench_model::Catalogue,
    args: &LoadArgs,
    configs: &[String],
) -> anyhow::Result<Vec<Subject>> {
    if args.pair == PASSTHROUGH {
        return Ok(vec![passthrough_subject(args)?]);
    }
    let pair = if args.lua_only {
        // The Lua side alone: the twin is not built (it may not exist or not compile yet).
        catalogue.select(Some(&args.pair))?[0]
    } else {
        crate::workspace::select_built(catalogue, std::slice::from_ref(&args.pair))?[0]
    };
    let kinds = if args.lua_only {
        Vec::new()
    } else {
        twin_kinds(catalogue, &pair.name, &args.twin)?
    };
    configs
        .iter()
        .map(|config| {
            Ok(if args.lua_only {
                Subject::lua_side_of_pair_under(catalogue, pair, LuaOnly::Asked, config)?
            } else {
                Subject::of_pair_under(catalogue, pair, config)?
                    .with_twins(catalogue, pair, &kinds)?
            })
        })
        .collect()
}

/// The pass-through filters `load --pair passthrough` measures: Lua and Rust Wasm always, the
/// native module unless `--twin` names only other kinds (`--twin wasm`: without it; a missing
/// `passthrough.so` is an error that says so); there is no Go pass-through (`--twin go` is an
/// error). `--lua-only`: baseline and Lua.
fn passthrough_subject(args: &LoadArgs) -> anyhow::Result<Subject> {
    if args.lua_only {
        return Ok(Subject::passthrough_without_native(&project_root())?.lua_only(LuaOnly::Asked));
    }
    if args.twin.contains(&TwinKinds::One(TwinKind::GoWasm)) {
        anyhow::bail!(
            "{PASSTHROUGH}: there is no Go Wasm pass-through (the pass-through filters are Lua, \
             Rust Wasm and native; --twin wasm,native)"
        );
    }
    let native = args.twin.contains(&TwinKinds::All)
        || args.twin.contains(&TwinKinds::One(TwinKind::Native));
    if native {
        Ok(Subject::passthrough(&project_root())?)
    } else {
        Ok(Subject::passthrough_without_native(&project_root())?)
    }
}

/// `plan` for one of `configs` configurations of a pair measured in one go: the pair's time
/// budget for adaptive rounds shared equally among them (each still runs the policy's minimum
/// rounds; the capacity rounds, the sequential check rounds and the other worker counts are per
/// configuration, on top). One configuration: `plan` as it is.
pub fn share_budget(plan: &LoadPlan, configs: usize) -> LoadPlan {
    let mut plan = plan.clone();
    if configs > 1 {
        plan.budget_secs = plan.budget_secs.map(|b| b / configs as f64);
    }
    plan
}

/// The policy's measurement plan with `load`'s flags applied (and checked).
fn load_plan(
    measurement: &filterbench_model::results::MeasurementPolicy,
    args: &LoadArgs,
) -> anyhow::Result<LoadPlan> {
    let mut plan = plan(measurement, args.full);
    // One pair: the second pass's budget, which `all` shares among the open pairs, is its own.
    plan.budget_secs = plan
        .budget_secs
        .map(|b| b + measurement.extra_budget_secs * if args.full { 3.0 } else { 1.0 });
    plan.workers = args.workers.clone();
    plan.connections = args.connections.max(1);
    if args.sequential {
        plan.method = RoundMethod::Sequential;
        plan.check_rounds = 0;
    }
    if let Some(n) = args.rounds {
        anyhow::ensure!(n >= 1, "--rounds must be at least 1");
        (plan.min_rounds, plan.max_rounds, plan.budget_secs) = (n, n, None);
        plan.check_rounds = plan.check_rounds.min(n);
    }
    for (flag, value, slot) in [
        ("--round-secs", args.round_secs, &mut plan.round_secs),
        ("--warmup-secs", args.warmup_secs, &mut plan.warmup_secs),
    ] {
        if let Some(v) = value {
            anyhow::ensure!(v > 0.0 && v <= 600.0, "{flag} must be in (0, 600]");
            *slot = v;
        }
    }
    plan.capacity_secs = plan.capacity_secs.min(plan.round_secs.max(0.2));
    Ok(plan)
}

pub fn load(args: LoadArgs, ws: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let catalogue = crate::workspace::open(ws)?;
    // Results go to the catalogue's root: the project's, or the workspace's.
    let root = catalogue.root.clone();
    let configs = configurations(&catalogue, &args)?;
    check_args(&args, &configs)?;
    let mut subjects = subjects(&catalogue, &args, &configs)?;
    let (policy, _) = crate::report::policy(&root, args.policy.as_deref())?;
    let plan = load_plan(&policy.measurement, &args)?;
    let session = Session::start()?;
    if let Some(secs) = args.soak {
        // One configuration: the one `--config` names, else `default`.
        subjects.truncate(1);
        if let (Some(note), false) = (catalogue.get(&args.pair), args.json) {
            if note.has_several_configs() {
                eprintln!(
                    "note: {}: the soak runs under its configuration `{}`",
                    note.name,
                    subjects[0].config()
                );
            }
        }
        return soak(&session, &subjects[0], secs, &root, args.json);
    }
    let plan = share_budget(&plan, subjects.len());
    if let (Some(note), false) = (
        catalogue
            .get(&args.pair)
            .and_then(|p| configs_note(p, &configs, &plan)),
        args.json,
    ) {
        eprintln!("note: {note}");
    }
    let run = ConfigRuns {
        args: &args,
        session: &session,
        plan: &plan,
        policy: &policy,
        root: &root,
        several: subjects.len() > 1,
    };
    let mut stdout = std::io::stdout().lock();
    let mut results = Vec::new();
    for subject in &subjects {
        results.push(run.one(subject, &mut stdout)?);
        // An error ends one configuration's run (kept, marked partial), not the others'.
        if session.interrupted() {
            break;
        }
    }
    run.summary(&results, &subjects, &mut stdout)?;
    let failed = results.iter().any(|r| r.failure.is_some());
    let partial = results.iter().any(|r| r.partial) || results.len() < subjects.len();
    Ok(match (failed, partial) {
        (true, _) => filterbench_model::exit::code(filterbench_model::exit::BAD_INPUT),
        (false, true) => filterbench_model::exit::code(filterbench_model::exit::INTERRUPTED),
        (false, false) => ExitCode::SUCCESS,
    })
}

/// The flags that cannot go together, refused before anything runs.
fn check_args(args: &LoadArgs, configs: &[String]) -> anyhow::Result<()> {
    if args.out.is_some() && configs.len() > 1 {
        anyhow::bail!(
            "--out names one file, and pair {:?} has {} configurations to measure ({}): \
             add --config NAME",
            args.pair,
            configs.len(),
            configs.join(", ")
        );
    }
    if args.soak.is_some() && args.configs.len() > 1 {
        anyhow::bail!("--soak measures one configuration: give one --config NAME");
    }
    if args.workers.is_empty() || args.workers.iter().any(|&w| w == 0 || w > 64) {
        anyhow::bail!("--workers must list worker counts between 1 and 64");
    }
    Ok(())
}

/// What `load` measures each configuration with, and how it prints.
struct ConfigRuns<'a> {
    args: &'a LoadArgs,
    session: &'a Session,
    plan: &'a LoadPlan,
    policy: &'a filterbench_reports::decision::Policy,
    root: &'a std::path::Path,
    /// The pair has more than one configuration to measure: lines name theirs.
    several: bool,
}

impl ConfigRuns<'_> {
    /// Measures `subject` (one configuration), writes its file and prints what it found.
    fn one(&self, subject: &Subject, stdout: &mut impl Write) -> anyhow::Result<LoadRun> {
        let (quiet, several) = (self.args.json, self.several);
        let config = subject.config().to_string();
        if subject.whole_corpus_mix && !quiet {
            eprintln!("{}", whole_corpus_note(subject));
        }
        let out = self.args.out.clone().unwrap_or_else(|| {
            filterbench_model::results::load_path_of(
                &results_dir(self.root),
                &subject.name,
                &config,
            )
        });
        let result = self
            .session
            .measure(subject, self.plan, &out, &mut |line| {
                if !quiet {
                    match several {
                        true => eprintln!("  [{config}] {line}"),
                        false => eprintln!("  {line}"),
                    }
                }
            })?;
        if quiet {
            if let Some(why) = &result.failure {
                eprintln!("partial: stopped by an error: {why}");
            }
            return Ok(result);
        }
        if several {
            writeln!(
                stdout,
                "\nunder configuration `{config}` ({})",
                subject.config
            )?;
        }
        print_run(stdout, &result)?;
        writeln!(
            stdout,
            "wrote {}{}",
            out.display(),
            match (&result.failure, result.partial) {
                (Some(why), _) => format!(" (partial: stopped by an error: {why})"),
                (None, true) => " (partial: stopped early)".into(),
                (None, false) => String::new(),
            }
        )?;
        if let Some(line) = lua_matters(&result, self.policy) {
            writeln!(stdout, "{line}")?;
        }
        Ok(result)
    }

    /// The JSON of every run, or a line per configuration when there were several.
    fn summary(
        &self,
        results: &[LoadRun],
        subjects: &[Subject],
        stdout: &mut impl Write,
    ) -> anyhow::Result<()> {
        if self.args.json {
            match results {
                [one] => writeln!(stdout, "{}", serde_json::to_string_pretty(one)?)?,
                all => writeln!(stdout, "{}", serde_json::to_string_pretty(all)?)?,
            }
            return Ok(());
        }
        if !self.several {
            return Ok(());
        }
        writeln!(stdout, "\nby configuration:")?;
        for r in results {
            writeln!(stdout, "  {}: {}", config_of(r), one_line(r))?;
        }
        if results.len() < subjects.len() {
            writeln!(
                stdout,
                "  not measured (stopped before them): {}",
                subjects[results.len()..]
                    .iter()
                    .map(|s| s.config())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        Ok(())
    }
}

/// Soaks `subject` for `secs` seconds (every variant at once at one moderate open-loop rate,
/// each Envoy's memory sampled throughout) and writes `soak/<pair>.json` under `root`'s
/// results; progress lines go to `on_line`. Answers the run and the file.
pub fn run_soak(
    session: &Session,
    subject: &Subject,
    secs: f64,
    root: &Path,
    on_line: &mut dyn FnMut(&str),
) -> anyhow::Result<(filterbench_model::results::SoakRun, std::path::PathBuf)> {
    let run = filterbench_envoy::compare::soak::soak(
        &session.rig,
        subject,
        &filterbench_envoy::compare::soak::SoakPlan::new(secs),
        &session.version,
        session.stop.clone(),
        on_line,
    )?;
    let out = filterbench_model::results::soak_path(&results_dir(root), &subject.name);
    write_json_atomically(&out, &run).with_context(|| format!("writing {}", out.display()))?;
    Ok((run, out))
}

/// The configuration a run measured.
pub fn config_of(run: &LoadRun) -> &str {
    run.config
        .as_deref()
        .unwrap_or(filterbench_model::catalogue::DEFAULT_CONFIG)
}

/// Said when no usable scenario runs under the subject's configuration: its mix is the whole
/// corpus'.
pub fn whole_corpus_note(subject: &Subject) -> String {
    format!(
        "note: {}: no scenario usable as load runs under its configuration `{}`: measured with \
         the whole corpus' requests",
        subject.name,
        subject.config()
    )
}

/// Said when a pair has several configurations: which are measured, each its own paired run,
/// and how the pair's time budget is shared among them (`plan` is already the share).
pub fn configs_note(
    pair: &filterbench_model::Pair,
    measured: &[String],
    plan: &LoadPlan,
) -> Option<String> {
    pair.has_several_configs().then(|| {
        let all = pair.configurations();
        let left: Vec<&str> = all
            .iter()
            .copied()
            .filter(|c| !measured.iter().any(|m| m == c))
            .collect();
        format!(
            "{}: measured under {} of its {} configurations ({}), each its own paired run{}{}",
            pair.name,
            measured.len(),
            all.len(),
            measured.join(", "),
            match plan.budget_secs {
                Some(b) if measured.len() > 1 => {
                    format!("; the pair's time budget shared: {b:.0} s of rounds each")
                }
                _ => String::new(),
            },
            if left.is_empty() {
                String::new()
            } else {
                format!("; not measured now: {}", left.join(", "))
            }
        )
    })
}

/// What a load run needs around [`compare`], for `load` and `all` alike: the load generator
/// and the loopback services kept off the core(s) Envoy is pinned to (every thread of the
/// process pinned), Ctrl-C turned into a graceful stop, Envoy and the loopback services.
pub struct Session {
    rig: Rig,
    version: String,
    stop: Arc<AtomicBool>,
}

impl Session {
    pub fn start() -> anyhow::Result<Session> {
        let (rig, version) = crate::envoy_rig()?;
        Ok(Session::with(rig, version))
    }

    /// A session on services already started (`all` starts them once, for every step): every
    /// thread of the process, theirs included, is pinned off Envoy's core(s) now.
    pub fn with(rig: Rig, version: String) -> Session {
        if let Some(cpus) = placement().driver_cpus {
            pin_process(&cpus);
        }
        let stop = graceful_interrupts();
        Session { rig, version, stop }
    }

    /// Measures `subject` and writes the result to `out` (atomically: a reader never sees half
    /// a file). A run stopped by an error part-way is a result too, marked partial with the
    /// reason ([`LoadRun::failure`]).
    pub fn measure(
        &self,
        subject: &Subject,
        plan: &LoadPlan,
        out: &Path,
        on_progress: &mut dyn FnMut(&str),
    ) -> anyhow::Result<LoadRun> {
        let result = compare(
            &self.rig,
            subject,
            plan,
            &self.version,
            self.stop.clone(),
            on_progress,
        )?;
        write_json_atomically(out, &result)
            .with_context(|| format!("writing {}", out.display()))?;
        Ok(result)
    }

    /// Adds rounds to `run` (a first pass of `subject`, [`filterbench_envoy::compare::extend`])
    /// and writes it to `out` again, whatever ended the pass (an error keeps the rounds before
    /// it, said in the pass; the error is returned after the file is written).
    #[allow(clippy::too_many_arguments)]
    pub fn extend(
        &self,
        subject: &Subject,
        run: &mut LoadRun,
        why: filterbench_model::results::ExtraWhy,
        budget_secs: f64,
        out: &Path,
        ended: &mut dyn FnMut(&LoadRun) -> Option<filterbench_model::results::ExtraEnd>,
        on_progress: &mut dyn FnMut(&str),
    ) -> anyhow::Result<()> {
        let extended = filterbench_envoy::compare::extend(
            &self.rig,
            subject,
            run,
            why,
            budget_secs,
            self.stop.clone(),
            ended,
            on_progress,
        );
        write_json_atomically(out, &*run).with_context(|| format!("writing {}", out.display()))?;
        Ok(extended?)
    }

    /// Ctrl-C was pressed.
    pub fn interrupted(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// `load --soak SECS`: the soak of `subject`, its table, and its file.
fn soak(
    session: &Session,
    subject: &Subject,
    secs: f64,
    root: &Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use filterbench_envoy::compare::soak::{growth_kib_per_100k, growth_words};

    let (run, out) = run_soak(session, subject, secs, root, &mut |line| {
        if !json {
            eprintln!("  {line}");
        }
    })?;
    let mut stdout = std::io::stdout().lock();
    if json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&run)?)?;
    } else {
        writeln!(
            stdout,
            "{} soak in Envoy {}: {:.0} s at {:.0} req/s each, 1 worker",
            run.pair, run.envoy_version, run.secs, run.rate_rps
        )?;
        for v in &run.variants {
            let points: Vec<_> = run.points.iter().filter(|p| p.variant == *v).collect();
            let (Some(first), Some(last)) = (points.first(), points.last()) else {
                continue;
            };
            writeln!(
                stdout,
                "  {:<10} RSS {:.1} -> {:.1} MiB over {} requests: {}",
                v.label(),
                first.rss_bytes as f64 / 1048576.0,
                last.rss_bytes as f64 / 1048576.0,
                last.requests,
                growth_words(growth_kib_per_100k(&run, *v))
            )?;
        }
        writeln!(
            stdout,
            "wrote {}{}",
            out.display(),
            if run.partial {
                " (partial: stopped early)"
            } else {
                ""
            }
        )?;
    }
    Ok(if run.partial {
        filterbench_model::exit::code(filterbench_model::exit::INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// For a Lua-only run, the policy's first question (`[lua_cost]`): does what the Lua filter adds
/// matter at all? Below the bar on both whole intervals, no twin can save enough to be worth it.
pub fn lua_matters(
    run: &LoadRun,
    policy: &filterbench_reports::decision::Policy,
) -> Option<String> {
    run.lua_only?;
    let c = Costs::of(&paired_rounds(run)?);
    let (cpu, p50) = (c.lua_cpu_us?, c.lua_latency_us[0]?);
    let p = &policy.lua_cost;
    let bar = format!(
        "the policy's bar (reports/policy.toml [lua_cost]): {} us CPU and {} us at p50",
        p.min_cpu_us, p.min_latency_us
    );
    Some(if cpu.below(p.min_cpu_us) && p50.below(p.min_latency_us) {
        format!(
            "By {bar}, this Lua filter costs too little to matter: both whole intervals lie \
                 below it, so no twin could save enough; keep Lua."
        )
    } else if cpu.above(p.min_cpu_us) || p50.above(p.min_latency_us) {
        format!(
            "By {bar}, this Lua filter costs enough to matter (a whole interval lies above \
                 it): a twin is worth writing and proving, then `filterbench load` measures both."
        )
    } else {
        format!(
            "By {bar}, too close to tell whether this Lua filter's cost matters (the \
                 intervals reach across it): more rounds (`--rounds`) would say."
        )
    })
}

/// The plan in words, for `all`'s step line.
pub fn plan_words(plan: &LoadPlan) -> String {
    let how = match plan.method {
        RoundMethod::Simultaneous => format!(
            "simultaneous paired open-loop rounds of {} s (all variants at once, {:.0}% of the \
             core together; {} sequential check rounds with three variants, {} with five, not \
             counted in the budget)",
            plan.round_secs,
            plan.rate_fraction * 100.0,
            plan.check_rounds,
            filterbench_envoy::compare::check_rounds(plan.check_rounds, 5)
        ),
        RoundMethod::Sequential => format!(
            "sequential paired open-loop rounds of {} s at {:.0}% of capacity",
            plan.round_secs,
            plan.rate_fraction * 100.0
        ),
    };
    format!(
        "capacity {} x {} s, then {how} ({}-{} rounds, {} budget per pair), workers {:?}",
        plan.capacity_rounds,
        plan.capacity_secs,
        plan.min_rounds,
        plan.max_rounds,
        plan.budget_secs.map_or("no".into(), |b| format!("{b} s")),
        plan.workers
    )
}

fn interval(i: Option<Interval>) -> String {
    i.map_or_else(|| "-".into(), |i| i.signed(1))
}

/// The costs of a run with their intervals, and capacity and memory per worker count.
pub fn print_run<W: Write>(w: &mut W, run: &LoadRun) -> std::io::Result<()> {
    let rounds = paired_rounds(run).unwrap_or_default();
    let c = Costs::of(&rounds);
    print_rounds(w, run, &c)?;
    print_costs(w, run, &c)?;
    print_other_twins(w, run)?;
    print_method_check(w, run)?;
    if let Some(why) = run.lua_only {
        writeln!(
            w,
            "Lua only ({}): the Wasm twin was not measured. The most a migration could save is \
             what Lua adds: {} us of Envoy CPU per request and {} us at p50.",
            why.words(),
            interval(c.lua_cpu_us),
            interval(c.lua_latency_us[0])
        )?;
    }
    print_by_workers(w, run)
}

/// The run's head: the pair, the rounds and why they stopped, the rounds flagged.
fn print_rounds<W: Write>(w: &mut W, run: &LoadRun, c: &Costs) -> std::io::Result<()> {
    writeln!(
        w,
        "{} in Envoy {}, {} requests in the mix",
        run.pair, run.envoy_version, run.requests_in_mix
    )?;
    writeln!(
        w,
        "{} paired open-loop rounds at {:.0} req/s{}: {} ({}; target half-width {:.1} us)",
        run.method.words(),
        run.open_rate_rps,
        if run.method == RoundMethod::Simultaneous {
            " each"
        } else {
            ""
        },
        c.rounds,
        run.stopped.words(),
        run.target_half_width_us
    )?;
    let flagged = behind_rounds(&run.rounds).len() + behind_rounds(&run.check_rounds).len();
    if flagged > 0 {
        writeln!(
            w,
            "  {flagged} round(s) flagged and left out: an Envoy answered less than 95% of its rate"
        )?;
    }
    writeln!(
        w,
        "  median [95% bootstrap interval], microseconds, each round's variant minus its baseline"
    )?;
    writeln!(
        w,
        "  {:<14} {:>24} {:>24} {:>24}",
        "", "CPU per request", "added p50", "added p99"
    )?;
    Ok(())
}

/// Lua's and Wasm's added costs and Wasm minus Lua, with their intervals.
fn print_costs<W: Write>(w: &mut W, run: &LoadRun, c: &Costs) -> std::io::Result<()> {
    let mut rows = vec![("Lua", c.lua_cpu_us, c.lua_latency_us)];
    if run.has_wasm() {
        rows.push(("Wasm", c.wasm_cpu_us, c.wasm_latency_us));
        rows.push((
            "Wasm - Lua",
            c.wasm_minus_lua_cpu_us,
            c.wasm_minus_lua_latency_us,
        ));
    }
    for (label, cpu, lat) in rows {
        writeln!(
            w,
            "  {label:<14} {:>24} {:>24} {:>24}",
            interval(cpu),
            interval(lat[0]),
            interval(lat[2])
        )?;
    }
    Ok(())
}

/// The other twins of the run (Go Wasm, native), paired with the baseline and with Lua in the
/// same rounds (rounds where an Envoy fell behind left out, as above).
fn print_other_twins<W: Write>(w: &mut W, run: &LoadRun) -> std::io::Result<()> {
    let cpu = |v: Variant| run.per_round(v, |s| s.envoy_cpu_us_per_request);
    let p50 = |v: Variant| run.per_round(v, |s| s.p50_us);
    let p99 = |v: Variant| run.per_round(v, |s| s.p99_us);
    for v in run.variants.iter().filter(|v| {
        v.twin()
            .is_some_and(|k| k != filterbench_model::TwinKind::Wasm)
    }) {
        for (label, other) in [
            (v.label().to_string(), Variant::Base),
            (format!("{} - Lua", v.label()), Variant::Lua),
        ] {
            let diff = |f: &dyn Fn(Variant) -> Vec<Option<f64>>| {
                Interval::of_median(&filterbench_model::stats::paired(&f(*v), &f(other)))
            };
            writeln!(
                w,
                "  {label:<14} {:>24} {:>24} {:>24}",
                interval(diff(&cpu)),
                interval(diff(&p50)),
                interval(diff(&p99))
            )?;
        }
    }
    Ok(())
}

/// The simultaneous rounds' CPU figures beside the sequential check rounds' of the same run.
fn print_method_check<W: Write>(w: &mut W, run: &LoadRun) -> std::io::Result<()> {
    if let Some(rows) = method_check(run) {
        writeln!(
            w,
            "  the check, same run: {} sequential rounds at {:.0} req/s",
            run.check_rounds
                .iter()
                .map(|s| s.round + 1)
                .max()
                .unwrap_or(0),
            run.check_rate_rps
        )?;
        writeln!(
            w,
            "  {:<26} {:>24} {:>24}  overlap",
            "", "simultaneous", "sequential"
        )?;
        for r in rows.iter().filter(|r| r.what.ends_with("CPU")) {
            writeln!(
                w,
                "  {:<26} {:>24} {:>24}  {}",
                r.what,
                interval(r.simultaneous),
                interval(r.sequential),
                match r.overlap() {
                    Some(true) => "yes",
                    Some(false) => "NO: the methods disagree",
                    None => "-",
                }
            )?;
        }
    }
    Ok(())
}

/// Capacity and memory at each worker count, with the closed-loop rounds flagged.
fn print_by_workers<W: Write>(w: &mut W, run: &LoadRun) -> std::io::Result<()> {
    writeln!(
        w,
        "{:>7} {:>5} {:>18} {:>9} {:>5}  flags",
        "workers", "var", "req/s [min-max]", "RSS MiB", "VMs"
    )?;
    for wr in &run.by_workers {
        for v in &run.variants {
            let caps = run.capacity_of(wr.workers, *v);
            let tput: Vec<f64> = caps.iter().map(|s| s.throughput_rps).collect();
            let (lo, hi) = tput
                .iter()
                .fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
            let mem = wr.memory_of(*v);
            let idle = caps.iter().filter(|s| s.envoy_not_bottleneck()).count();
            writeln!(
                w,
                "{:>7} {:>5} {:>18} {:>9} {:>5}  {}",
                wr.workers,
                v.id(),
                if tput.is_empty() {
                    "-".into()
                } else {
                    format!("{:.0} [{lo:.0}-{hi:.0}]", median(&tput))
                },
                mem.map_or("-".into(), |m| format!(
                    "{:.1}",
                    m.rss_bytes as f64 / 1048576.0
                )),
                mem.map_or("-".into(), |m| m.wasm_vms.to_string()),
                if idle > 0 {
                    format!("{idle} capacity round(s) with Envoy < 90% busy")
                } else {
                    String::new()
                }
            )?;
        }
    }
    let idle = run.by_workers.iter().any(|wr| {
        run.variants.iter().any(|v| {
            run.capacity_of(wr.workers, *v)
                .iter()
                .any(|s| s.envoy_not_bottleneck())
        })
    });
    if idle {
        writeln!(
            w,
            "  < 90% busy: in that closed-loop round Envoy's workers were not saturated (the load \
             generator or the machine was the limit), so its req/s is a floor, not Envoy's capacity"
        )?;
    }
    Ok(())
}

/// One line per pair for `all`: Wasm minus Lua with its interval (or, Lua-only, what Lua adds
/// and that the twin was not measured), and the rounds.
pub fn one_line(run: &LoadRun) -> String {
    let c = paired_rounds(run).map(|r| Costs::of(&r));
    let lua = c.as_ref().and_then(|c| c.lua_cpu_us);
    let diff = c.as_ref().and_then(|c| c.wasm_minus_lua_cpu_us);
    let extra: Vec<String> = run
        .extra
        .iter()
        .map(|p| {
            format!(
                "; +{} in a second pass because {}: {}",
                p.rounds,
                p.why.words(),
                p.ended.words()
            )
        })
        .collect();
    let rounds = format!(
        "{} {} rounds at {:.0} req/s, {}{}",
        c.as_ref().map_or(0, |c| c.rounds),
        run.method.words(),
        run.open_rate_rps,
        run.stopped.words(),
        extra.concat()
    );
    if run.variants.contains(&Variant::WASM) {
        format!(
            "Lua adds {} us CPU/req, Wasm - Lua {} us ({rounds})",
            interval(lua),
            interval(diff),
        )
    } else {
        format!(
            "Lua only: Lua adds {} us CPU/req, the most a migration could save; Wasm not \
             measured ({rounds})",
            interval(lua),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> LoadPlan {
        let m: filterbench_model::results::MeasurementPolicy = toml::from_str(
            "target_half_width_us = 2.0\ntarget_half_width_pct = 10.0\nmin_rounds = 6\n\
             max_rounds = 40\npair_budget_secs = 36.0\n",
        )
        .unwrap();
        filterbench_envoy::compare::plan(&m, false)
    }

    #[test]
    fn a_pairs_budget_is_shared_among_its_configurations_and_the_note_says_so() {
        let one = share_budget(&plan(), 1);
        assert_eq!(one, plan());
        let two = share_budget(&plan(), 2);
        assert_eq!(two.budget_secs, Some(18.0));
        // The minimum of rounds and everything else per configuration stays.
        assert_eq!((two.min_rounds, two.max_rounds), (6, 40));
        // Exactly N rounds (`--rounds`): no budget to share.
        let fixed = LoadPlan {
            budget_secs: None,
            ..plan()
        };
        assert_eq!(share_budget(&fixed, 3).budget_secs, None);

        let pair: filterbench_model::Pair = toml::from_str(
            "name = \"strip\"\nsummary = \"\"\nbehaviour = \"\"\n\
             config = { strip_authorization = false }\n\
             [traits]\nexternal_call = false\ndata_processing = false\ncustom_metrics = false\n\
             state = false\nchange_frequency = \"low\"\n\
             [configs.admin]\nstrip_authorization = true\n",
        )
        .unwrap();
        let both = vec!["default".to_string(), "admin".to_string()];
        assert_eq!(
            configs_note(&pair, &both, &two).unwrap(),
            "strip: measured under 2 of its 2 configurations (default, admin), each its own \
             paired run; the pair's time budget shared: 18 s of rounds each"
        );
        assert_eq!(
            configs_note(&pair, &both[1..], &plan()).unwrap(),
            "strip: measured under 1 of its 2 configurations (admin), each its own paired run; \
             not measured now: default"
        );
    }
}
