//! `filterbench`: should this Envoy Lua filter become a Wasm plugin?
//!
//! `filterbench verify --envoy [--pair NAME] [--json]` replays every pair's scenario corpus through
//! the Lua and the Wasm twin in a real Envoy and prints, last, a summary line such as
//! `12 pairs, 295 scenarios: 12 equivalent, 0 differ`. `--twin wasm|go|native|all` chooses the
//! twins proven (default `wasm`, the Rust proxy-wasm twins; `all` prints one summary line per
//! kind, each prefixed by the kind).
//!
//! `filterbench swap --pair NAME` switches the pair's filter Lua -> Wasm -> Lua in a running Envoy
//! under load and writes `reports/results/swap/<pair>.json`.
//! `filterbench verify --envoy --deployed [--api both|trafficextension|legacy]` serves what Istio
//! deploys for each pair (the generated manifests, validated and translated to Envoy filters) and
//! checks each outcome equals the verified one; `filterbench verify --envoy --failure-strategy`
//! measures Envoy's answer to a failing Wasm (per failStrategy) or Lua filter.
//!
//! `filterbench load --pair NAME` measures baseline, Lua and Wasm Envoys under load (interleaved
//! rounds, worker counts 1, 2, 4) and writes `reports/results/load/<pair>.json`; `--lua-only`
//! measures baseline and Lua alone (no Wasm twin needed).
//!
//! `filterbench run --lua FILE | --wasm FILE --request FILE... [--calls FILE] [--config-raw TEXT]
//! [--envoy]` runs a filter of the user's own on requests in sequence (one VM), in-process and
//! with `--envoy` in a real Envoy as well, diffed (`run`).
//!
//! `filterbench new NAME --lua FILE --workspace DIR` scaffolds a pair of the user's own in a
//! workspace (`new.rs`); `filterbench record --pair NAME --requests FILE` records its Lua filter in
//! real Envoy into corpus scenarios (`record.rs`); `--workspace DIR`, an option of every command,
//! works on that workspace's pairs instead of the built-in ones (`workspace.rs`).
//!
//! Exit codes: 0 every selected pair is equivalent / the load run completed; 1 some pair differs;
//! 2 bad input or a broken environment (the one-line error names the file or the tool); 130 a load
//! run stopped by Ctrl-C (its partial results are written, marked partial).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use filterbench_model::exit;

mod all;
mod configs;
mod deployed;
mod generated;
mod load;
mod new;
mod new_twins;
mod record;
mod report;
mod run;
mod second_pass;
mod swap;
mod workspace;

use filterbench_envoy::envoy::{envoy_version, find_envoy};
use filterbench_envoy::verify::{verify_twin, Rig};
use filterbench_model::equivalence::{PairReport, Summary};
use filterbench_model::{project_root, Catalogue, Pair, TwinKind};

#[derive(Parser)]
#[command(
    name = "filterbench",
    version,
    about = "Lua vs Wasm Envoy filters: proven equivalent, then measured"
)]
struct Cli {
    /// Work on the pairs of your own workspace (DIR/filterbench.toml, filters-lua/,
    /// filters-wasm/, corpus/; results in DIR/reports/) instead of the built-in pairs.
    #[arg(long, global = true, value_name = "DIR")]
    workspace: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prove each Lua/Wasm pair behaves the same on its scenario corpus.
    #[command(group(clap::ArgGroup::new("driver").required(true).args(["envoy", "in_process"])))]
    Verify {
        /// Run the corpus through a real Envoy (Lua listener vs Wasm listener).
        #[arg(long)]
        envoy: bool,
        /// Run the corpus in-process (LuaJIT and wasmtime hosts), no Envoy needed.
        #[arg(long)]
        in_process: bool,
        /// Only this pair.
        #[arg(long, value_name = "NAME")]
        pair: Option<String>,
        /// Which twins to prove against the Lua filter: wasm (Rust proxy-wasm), go (Go
        /// proxy-wasm), native (Envoy dynamic module, --envoy only) or all the kinds the pairs
        /// have. Pairs without a twin of the kind are left out (named). With --deployed: whose
        /// manifests are checked (all: every kind, one summary line per kind).
        #[arg(long, default_value = "wasm", value_name = "KIND", value_parser = parse_twin_choice,
              conflicts_with_all = ["failure_strategy"])]
        twin: TwinChoice,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// With --json: include every scenario's raw Lua and Wasm outcomes.
        #[arg(long, requires = "json")]
        outcomes: bool,
        /// Also save the result where the report reads it (reports/results/verify/<mode>.json;
        /// with --deployed: verify/deployed.json).
        #[arg(long, conflicts_with = "failure_strategy")]
        save: bool,
        /// With --envoy: serve what Istio deploys (the manifests of `loadgen k8s manifests`,
        /// validated against the CRDs and translated to Envoy filters) and check every outcome
        /// equals the verified one.
        #[arg(long, requires = "envoy", conflicts_with = "failure_strategy")]
        deployed: bool,
        /// With --deployed: which manifests (both, trafficextension or legacy).
        #[arg(long, value_enum, default_value_t = deployed::ApiChoice::Both, requires = "deployed")]
        api: deployed::ApiChoice,
        /// With --deployed: who turns the manifests into Envoy configuration: istiod (the real
        /// Istio control plane, built with Go into target/istiod on first use, serving a sidecar
        /// Envoy per twin over xDS) or own (the project's translation, no Go needed).
        #[arg(long, value_enum, default_value_t = deployed::ControlPlaneChoice::Istiod, requires = "deployed")]
        control_plane: deployed::ControlPlaneChoice,
        /// With --envoy: measure what Envoy does when a Wasm filter traps (per failStrategy) or a
        /// Lua filter raises; writes reports/results/failure/strategy.json.
        #[arg(long, requires = "envoy", conflicts_with = "pair")]
        failure_strategy: bool,
        /// With --in-process: instead of the corpus, N generated request sequences per pair
        /// (seeded from its corpus: repeated headers, letter case, empty values, bodies), Lua vs
        /// the twin of --twin (wasm, go or all); a disagreement is shrunk and saved as request
        /// lines for `record`.
        #[arg(long, value_name = "N", requires = "in_process", conflicts_with_all = ["json", "save"])]
        generated: Option<u32>,
        /// With --generated: the seed of the generated sequences (the same seed, the same ones).
        #[arg(long, requires = "generated", default_value_t = filterbench_bench::harness::generate::DEFAULT_SEED)]
        seed: u64,
    },
    /// Measure baseline, Lua and Wasm Envoys side by side under load.
    Load(load::LoadArgs),
    /// Run a filter of your own on requests in sequence, in-process (and with --envoy in a real
    /// Envoy too, diffed); print the outcomes as JSON.
    Run(run::RunArgs),
    /// Record a pair's Lua filter in a real Envoy as its specification: requests (JSON lines or a
    /// HAR file) in, corpus scenarios whose expectations are the observed outcomes out.
    Record(record::RecordArgs),
    /// Render the HTML report from the results already measured (reports/results/).
    Report(report::ReportArgs),
    /// The whole job: set up, prove equivalence, bench in-process, load in real Envoy, report.
    All(all::AllArgs),
    /// The in-process benches (criterion), writing reports/results/bench/summary.json.
    Bench(BenchArgs),
    /// Switch a pair Lua -> Wasm -> Lua in a running Envoy under load (ECDS from a file).
    Swap(swap::SwapArgs),
    /// Scaffold a pair of your own in a workspace (--workspace DIR): the Lua filter, a catalogue
    /// entry, an empty corpus and a pass-through Wasm twin crate (or a prebuilt module), and with
    /// --go / --native pass-through Go and native twins.
    New(new::NewArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// quick (about 2 minutes), default (what `cargo bench` runs) or full.
    #[arg(long, default_value = "default")]
    profile: String,
    /// Only this pair (the baseline and the operations always run).
    #[arg(long, value_name = "NAME")]
    pair: Option<String>,
}

fn bench(args: BenchArgs, ws: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    use filterbench_bench::perf;
    let profile: perf::Profile = args.profile.parse()?;
    let catalogue = workspace::open(ws)?;
    workspace::select_built(&catalogue, args.pair.as_slice())?;
    perf::run(&catalogue, profile, args.pair.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    // `filterbench bench` re-runs this binary under valgrind to count instructions.
    if let Some(code) = filterbench_bench::perf::callgrind::child_if_requested() {
        return code;
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", filterbench_model::one_line(&error_chain(&e)));
            exit::code(exit::BAD_INPUT)
        }
    }
}

/// The error and its causes, each cause once (many errors already print their source).
fn error_chain(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ws = cli.workspace.as_deref();
    match cli.command {
        Command::Verify {
            envoy,
            in_process: _,
            pair,
            twin,
            json,
            outcomes,
            save,
            deployed,
            api,
            control_plane,
            failure_strategy,
            generated,
            seed,
        } => {
            if let Some(cases) = generated {
                let kinds = match twin {
                    TwinChoice::One(kind) => Some(kind),
                    TwinChoice::All => None,
                };
                return generated::verify_generated(ws, pair.as_deref(), kinds, cases, seed);
            }
            let out = Output { json, outcomes };
            if ws.is_some() && (failure_strategy || deployed) {
                let catalogue = workspace::open(ws)?;
                workspace::built_in_only(
                    &catalogue,
                    if deployed {
                        "--deployed"
                    } else {
                        "--failure-strategy"
                    },
                )?;
            }
            if failure_strategy {
                deployed::failure_strategy(json)
            } else if deployed {
                verify_deployed(pair.as_deref(), api, control_plane, twin, save, out)
            } else {
                verify(ws, pair.as_deref(), envoy, twin, out, save)
            }
        }
        Command::Load(args) => load::load(args, ws),
        Command::Run(args) => run::run(ws, args),
        Command::Record(args) => record::record(&workspace::open(ws)?, args),
        Command::Report(args) => report::report(ws, args),
        Command::All(args) => all::all(ws, args),
        Command::Bench(args) => bench(args, ws),
        Command::Swap(args) => {
            if ws.is_some() {
                workspace::built_in_only(&workspace::open(ws)?, "swap")?;
            }
            swap::run(args)
        }
        Command::New(args) => new::new(ws, args),
    }
}

/// `verify --deployed`: each pair's manifests for its twins of `twin`, translated as Istio gives
/// them to the proxy, proved in real Envoy; saved and printed as verify's other modes are (one
/// summary line per kind of twin).
fn verify_deployed(
    pair: Option<&str>,
    api: deployed::ApiChoice,
    control_plane: deployed::ControlPlaneChoice,
    twin: TwinChoice,
    save: bool,
    out: Output,
) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let catalogue = Catalogue::load(&root)?;
    let selected = catalogue.select(pair)?;
    let kinds: Vec<TwinKind> = match twin {
        TwinChoice::One(kind) => vec![kind],
        TwinChoice::All => TwinKind::ALL.to_vec(),
    };
    let mut asked = Vec::new();
    for &kind in &kinds {
        if let TwinChoice::One(_) = twin {
            pairs_with_twin(&catalogue, &selected, kind, pair.is_some(), !out.json)?;
        }
        if selected
            .iter()
            .any(|p| catalogue.twin(&p.name, kind).is_some())
        {
            asked.push(kind);
        }
    }
    if asked.is_empty() {
        anyhow::bail!(
            "{}: no selected pair has a twin of the kind asked for",
            catalogue.path.display()
        );
    }
    let (rig, version) = envoy_rig()?;
    let (reports, served_by) = deployed::deployed_reports(
        &rig,
        &version,
        &catalogue,
        &selected,
        &asked,
        &[],
        api,
        control_plane,
        !out.json,
    )?;
    if save {
        let path = report::save_verify(&root, "deployed", Some(version.clone()), &reports)?;
        if !out.json {
            println!("saved {}", report::shown_path(&root, &path));
        }
    }
    let served_by = served_by.unwrap_or_else(|| "own translation".into());
    if let [kind] = asked[..] {
        let mut header = serde_json::json!({
            "mode": "envoy-deployed",
            "envoy_version": version,
            "control_plane": served_by,
        });
        if kind != TwinKind::Wasm {
            header["twin"] = kind.id().into();
        }
        return finish_verify(&reports, header, out);
    }
    let sections: Vec<(TwinKind, Vec<PairReport>, Option<String>)> = asked
        .iter()
        .map(|&kind| {
            let of_kind = reports.iter().filter(|r| r.twin == kind).cloned().collect();
            (kind, of_kind, Some(version.clone()))
        })
        .collect();
    finish_verify_kinds("envoy-deployed", &sections, out)
}

/// How verify prints.
#[derive(Clone, Copy)]
struct Output {
    json: bool,
    outcomes: bool,
}

/// `--twin`: one kind of twin, or every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TwinChoice {
    One(TwinKind),
    All,
}

fn parse_twin_choice(s: &str) -> Result<TwinChoice, String> {
    match s {
        "all" => Ok(TwinChoice::All),
        kind => kind.parse().map(TwinChoice::One),
    }
}

/// `verify --envoy` (real Envoy) or `--in-process`: the selected pairs (their twin crates built),
/// for each kind of twin asked for, saved with `--save`, printed, and the exit code of the
/// summaries.
fn verify(
    ws: Option<&std::path::Path>,
    pair: Option<&str>,
    envoy: bool,
    twin: TwinChoice,
    out: Output,
    save: bool,
) -> anyhow::Result<ExitCode> {
    let catalogue = workspace::open(ws)?;
    let names: Vec<String> = pair.into_iter().map(str::to_string).collect();
    let selected = workspace::select_built(&catalogue, &names)?;
    let has = |p: &Pair, kind: TwinKind| catalogue.twin(&p.name, kind).is_some();
    let kinds: Vec<TwinKind> = match twin {
        TwinChoice::One(kind) => {
            if !envoy && !kind.runs_in_process() {
                anyhow::bail!(
                    "{}: a {} twin runs in real Envoy only: use `filterbench verify --envoy --twin {}`",
                    catalogue.path.display(),
                    kind.label(),
                    kind.id()
                );
            }
            vec![kind]
        }
        TwinChoice::All => TwinKind::ALL
            .into_iter()
            .filter(|k| envoy || k.runs_in_process())
            .filter(|k| selected.iter().any(|p| has(p, *k)))
            .collect(),
    };
    let mode = if envoy { "envoy" } else { "in_process" };
    // Envoy and the loopback services, once for every kind.
    let services = if envoy { Some(envoy_rig()?) } else { None };
    let mut sections = Vec::new();
    for kind in kinds {
        let pairs = pairs_with_twin(&catalogue, &selected, kind, pair.is_some(), !out.json)?;
        let (reports, version) = if let Some((rig, version)) = &services {
            let reports = verify_envoy_reports(rig, version, &catalogue, &pairs, kind, !out.json)?;
            (reports, Some(version.clone()))
        } else {
            let reports = verify_in_process_reports(&catalogue, &pairs, kind, !out.json)?;
            (reports, None)
        };
        if save {
            let path = report::save_verify(&catalogue.root, mode, version.clone(), &reports)?;
            if !out.json {
                println!("saved {}", path.display());
            }
        }
        sections.push((kind, reports, version));
    }
    finish_verify_kinds(mode, &sections, out)
}

/// The pairs of `selected` to verify with their twins of `kind`. A pair asked for by name
/// (`named`) must have the twin (loading it says so); otherwise pairs without a twin of this kind
/// are left out, said when `print`. No pair with the twin at all is an error naming the folder.
fn pairs_with_twin<'c>(
    catalogue: &Catalogue,
    selected: &[&'c Pair],
    kind: TwinKind,
    named: bool,
    print: bool,
) -> anyhow::Result<Vec<&'c Pair>> {
    let (pairs, without): (Vec<&Pair>, Vec<&Pair>) = selected
        .iter()
        .partition(|p| named || catalogue.twin(&p.name, kind).is_some());
    if pairs.is_empty() {
        anyhow::bail!(
            "{}: no pair has a {} twin ({}/<pair>/)",
            catalogue.path.display(),
            kind.label(),
            kind.source_folder()
        );
    }
    if print && !without.is_empty() {
        let names: Vec<&str> = without.iter().map(|p| p.name.as_str()).collect();
        println!("no {} twin (left out): {}", kind.label(), names.join(", "));
    }
    Ok(pairs)
}

/// What every command that runs Envoy needs first: Envoy found (installed on first use), its
/// version read, and the loopback echo, auth and call services started.
pub fn envoy_rig() -> anyhow::Result<(Rig, String)> {
    let bin = find_envoy()?;
    let version = envoy_version(&bin)?;
    let rig = Rig::new(bin).context("starting the loopback echo, auth and call services")?;
    Ok((rig, version))
}

/// Every selected pair through real Envoy, Lua against its twin of `kind`; with `print`, a line
/// per pair as it finishes.
fn verify_envoy_reports(
    rig: &Rig,
    version: &str,
    catalogue: &Catalogue,
    pairs: &[&Pair],
    kind: TwinKind,
    print: bool,
) -> anyhow::Result<Vec<PairReport>> {
    if print {
        let twins = twins_words(kind);
        println!(
            "verifying {} pair(s) in Envoy {version} ({}){twins}",
            pairs.len(),
            rig.envoy_bin.display()
        );
    }
    reports_of(pairs, print, |pair| {
        Ok(verify_twin(rig, catalogue, pair, kind)?)
    })
}

/// `report` of each pair in turn; with `print`, a line per pair as it finishes.
fn reports_of(
    pairs: &[&Pair],
    print: bool,
    mut report: impl FnMut(&Pair) -> anyhow::Result<PairReport>,
) -> anyhow::Result<Vec<PairReport>> {
    let mut reports = Vec::new();
    for pair in pairs {
        let report = report(pair)?;
        if print {
            print_pair(&report);
        }
        reports.push(report);
    }
    Ok(reports)
}

/// ", Go Wasm twins" after what verify does, for a kind other than the default Rust Wasm.
fn twins_words(kind: TwinKind) -> String {
    match kind {
        TwinKind::Wasm => String::new(),
        kind => format!(", {} twins", kind.label()),
    }
}

/// Every selected pair in-process, Lua against its twin of `kind` (a proxy-wasm kind); with
/// `print`, a line per pair as it finishes.
fn verify_in_process_reports(
    catalogue: &Catalogue,
    pairs: &[&Pair],
    kind: TwinKind,
    print: bool,
) -> anyhow::Result<Vec<PairReport>> {
    use filterbench_bench::harness::driver::{in_process_report, LoadedPair};

    if print {
        let twins = twins_words(kind);
        println!(
            "verifying {} pair(s) in-process (LuaJIT via mlua, proxy-wasm on wasmtime){twins}",
            pairs.len()
        );
    }
    reports_of(pairs, print, |pair| {
        let loaded = if kind == TwinKind::Wasm {
            LoadedPair::load(catalogue, pair)?
        } else {
            LoadedPair::load_twin(catalogue, pair, kind)?
        };
        let corpus =
            filterbench_model::Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
        Ok(in_process_report(&loaded, &corpus)?)
    })
}

/// Fills a verify JSON document: the pairs (with `--outcomes`, every scenario's raw outcomes),
/// the summary and its line.
fn verify_document(
    doc: &mut serde_json::Value,
    reports: &[PairReport],
    summary: &Summary,
    out: Output,
) -> anyhow::Result<()> {
    let mut pairs = serde_json::to_value(reports)?;
    if out.outcomes {
        for (value, report) in pairs.as_array_mut().into_iter().flatten().zip(reports) {
            value["outcomes"] = report
                .results
                .iter()
                .map(|r| serde_json::json!({"scenario": r.scenario, "lua": r.lua, "wasm": r.wasm}))
                .collect();
        }
    }
    doc["pairs"] = pairs;
    doc["summary"] = serde_json::to_value(summary)?;
    doc["line"] = summary.line().into();
    Ok(())
}

pub(crate) fn print_pair(report: &PairReport) {
    // A pair with several configurations says what ran under each.
    let configs = report
        .configs_line()
        .map_or(String::new(), |line| format!("; by configuration: {line}"));
    if report.equivalent {
        println!(
            "{}: equivalent ({} scenarios{configs})",
            report.pair, report.scenarios
        );
    } else {
        println!(
            "{}: DIFFER ({} of {} checks failed{configs})",
            report.pair,
            report.failures.len(),
            report.requests
        );
        for line in report.failure_lines() {
            println!("{line}");
        }
    }
}

/// [`finish_verify`] for the kinds of twin verified: one kind prints exactly as before; several
/// print one summary line per kind, prefixed by the kind (`native: 10 pairs, ...`), or one JSON
/// document with a `twins` array of the single-kind documents.
fn finish_verify_kinds(
    mode: &str,
    sections: &[(TwinKind, Vec<PairReport>, Option<String>)],
    out: Output,
) -> anyhow::Result<ExitCode> {
    let header = |kind: TwinKind, version: &Option<String>| {
        let mut header = serde_json::json!({ "mode": mode, "twin": kind.id() });
        if let Some(version) = version {
            header["envoy_version"] = version.clone().into();
        }
        header
    };
    if let [(kind, reports, version)] = sections {
        return finish_verify(reports, header(*kind, version), out);
    }
    let mut differ = 0;
    let mut documents = Vec::new();
    for (kind, reports, version) in sections {
        let summary = Summary::of(reports);
        differ += summary.differ;
        if out.json {
            let mut doc = header(*kind, version);
            verify_document(&mut doc, reports, &summary, out)?;
            documents.push(doc);
        } else {
            println!("{}: {}", kind.id(), summary.line());
        }
    }
    if out.json {
        let doc = serde_json::json!({ "mode": mode, "twins": documents });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(exit::equivalence(differ == 0))
}

/// Prints the summary line last (or the JSON document) and picks the exit code.
fn finish_verify(
    reports: &[PairReport],
    mut header: serde_json::Value,
    out: Output,
) -> anyhow::Result<ExitCode> {
    let summary = Summary::of(reports);
    if out.json {
        verify_document(&mut header, reports, &summary, out)?;
        println!("{}", serde_json::to_string_pretty(&header)?);
    } else {
        println!("{}", summary.line());
    }
    Ok(exit::equivalence(summary.differ == 0))
}
