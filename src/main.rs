//! `filterbench`: should this Envoy Lua filter become a Wasm plugin?
//!
//! `filterbench verify --envoy [--pair NAME] [--json]` replays every pair's scenario corpus through
//! the Lua and the Wasm twin in a real Envoy and prints, last, a summary line such as
//! `12 pairs, 163 scenarios: 12 equivalent, 0 differ`.
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
//! Exit codes: 0 every selected pair is equivalent / the load run completed; 1 some pair differs;
//! 2 bad input or a broken environment (the one-line error names the file or the tool); 130 a load
//! run stopped by Ctrl-C (its partial results are written, marked partial).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use filterbench_model::exit;

mod all;
mod deployed;
mod load;
mod report;
mod swap;

use filterbench_bench::verdict::{PairReport, Summary};
use filterbench_bench::{project_root, Catalogue, Pair};
use filterbench_envoy::envoy::{envoy_version, find_envoy};
use filterbench_envoy::verify::{verify_pair, Rig};

#[derive(Parser)]
#[command(
    name = "filterbench",
    version,
    about = "Lua vs Wasm Envoy filters: proven equivalent, then measured"
)]
struct Cli {
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
        /// With --envoy: measure what Envoy does when a Wasm filter traps (per failStrategy) or a
        /// Lua filter raises; writes reports/results/failure/strategy.json.
        #[arg(long, requires = "envoy", conflicts_with = "pair")]
        failure_strategy: bool,
    },
    /// Measure baseline, Lua and Wasm Envoys side by side under load.
    Load(load::LoadArgs),
    /// Run one filter of your own on one request, in-process; print the outcome as JSON.
    Run(RunArgs),
    /// Render the HTML report from the results already measured (reports/results/).
    Report(report::ReportArgs),
    /// The whole job: set up, prove equivalence, bench in-process, load in real Envoy, report.
    All(all::AllArgs),
    /// The in-process benches (criterion), writing reports/results/bench/summary.json.
    Bench(BenchArgs),
    /// Switch a pair Lua -> Wasm -> Lua in a running Envoy under load (ECDS from a file).
    Swap(swap::SwapArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// A Lua script as Envoy's Lua filter would load it.
    #[arg(long, value_name = "FILE", conflicts_with = "wasm")]
    lua: Option<std::path::PathBuf>,
    /// A proxy-wasm module as Envoy's Wasm filter would load it.
    #[arg(long, value_name = "FILE")]
    wasm: Option<std::path::PathBuf>,
    /// The configuration (JSON): plugin configuration for Wasm, route metadata for Lua.
    #[arg(long, value_name = "JSON")]
    config: Option<String>,
    /// The request: {"method", "path", "headers": [[name, value]], "body"}.
    #[arg(long, value_name = "REQ.json")]
    request: std::path::PathBuf,
    /// The upstream's reply: {"status", "headers", "body"}.
    #[arg(long, value_name = "RESP.json")]
    upstream: Option<std::path::PathBuf>,
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

fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    use filterbench_bench::perf;
    let profile: perf::Profile = args.profile.parse()?;
    perf::run(profile, args.pair.as_deref())?;
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
            eprintln!("error: {}", filterbench_bench::one_line(&error_chain(&e)));
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
    match cli.command {
        Command::Verify {
            envoy,
            in_process: _,
            pair,
            json,
            outcomes,
            save,
            deployed,
            api,
            failure_strategy,
        } => {
            let out = Output { json, outcomes };
            if failure_strategy {
                deployed::failure_strategy(json)
            } else if deployed {
                let root = project_root();
                let catalogue = Catalogue::load(&root)?;
                let (reports, version) = deployed::deployed_reports(
                    &catalogue,
                    &catalogue.select(pair.as_deref())?,
                    &[],
                    api,
                    !json,
                )?;
                if save {
                    let path =
                        report::save_verify(&root, "deployed", Some(version.clone()), &reports)?;
                    if !json {
                        println!("saved {}", report::shown_path(&root, &path));
                    }
                }
                finish_verify(
                    &reports,
                    serde_json::json!({"mode": "envoy-deployed", "envoy_version": version}),
                    out,
                )
            } else if envoy {
                verify_envoy(pair.as_deref(), out, save)
            } else {
                verify_in_process(pair.as_deref(), out, save)
            }
        }
        Command::Load(args) => load::load(args),
        Command::Run(args) => run_one(args),
        Command::Report(args) => report::report(&project_root(), args),
        Command::All(args) => all::all(&project_root(), args),
        Command::Bench(args) => bench(args),
        Command::Swap(args) => swap::run(args),
    }
}

/// How verify prints.
#[derive(Clone, Copy)]
struct Output {
    json: bool,
    outcomes: bool,
}

fn verify_envoy(pair: Option<&str>, out: Output, save: bool) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let catalogue = Catalogue::load(&root)?;
    let (reports, version) = verify_envoy_reports(&catalogue, &catalogue.select(pair)?, !out.json)?;
    if save {
        let path = report::save_verify(&root, "envoy", Some(version.clone()), &reports)?;
        if !out.json {
            println!("saved {}", path.display());
        }
    }
    finish_verify(
        &reports,
        serde_json::json!({"mode": "envoy", "envoy_version": version}),
        out,
    )
}

/// Every selected pair through real Envoy; with `print`, a line per pair as it finishes.
fn verify_envoy_reports(
    catalogue: &Catalogue,
    pairs: &[&Pair],
    print: bool,
) -> anyhow::Result<(Vec<PairReport>, String)> {
    let bin = find_envoy()?;
    let version = envoy_version(&bin)?;
    let rig = Rig::new(bin.clone()).context("starting the loopback echo and auth services")?;
    if print {
        println!(
            "verifying {} pair(s) in Envoy {version} ({})",
            pairs.len(),
            bin.display()
        );
    }
    let mut reports = Vec::new();
    for pair in pairs {
        let report = verify_pair(&rig, catalogue, pair)?;
        if print {
            print_pair(&report);
        }
        reports.push(report);
    }
    Ok((reports, version))
}

fn verify_in_process(pair: Option<&str>, out: Output, save: bool) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let catalogue = Catalogue::load(&root)?;
    let reports = verify_in_process_reports(&catalogue, &catalogue.select(pair)?, !out.json)?;
    if save {
        let path = report::save_verify(&root, "in_process", None, &reports)?;
        if !out.json {
            println!("saved {}", path.display());
        }
    }
    finish_verify(&reports, serde_json::json!({"mode": "in_process"}), out)
}

/// Every selected pair in-process; with `print`, a line per pair as it finishes.
fn verify_in_process_reports(
    catalogue: &Catalogue,
    pairs: &[&Pair],
    print: bool,
) -> anyhow::Result<Vec<PairReport>> {
    use filterbench_bench::harness::driver::{in_process_report, LoadedPair};

    if print {
        println!(
            "verifying {} pair(s) in-process (LuaJIT via mlua, proxy-wasm on wasmtime)",
            pairs.len()
        );
    }
    let mut reports = Vec::new();
    for pair in pairs {
        let loaded = LoadedPair::load(catalogue, pair)?;
        let corpus =
            filterbench_bench::Corpus::load(&catalogue.corpus_path(&pair.name), &pair.name)?;
        let report = in_process_report(&loaded, &corpus)?;
        if print {
            print_pair(&report);
        }
        reports.push(report);
    }
    Ok(reports)
}

pub(crate) fn print_pair(report: &PairReport) {
    if report.equivalent {
        println!(
            "{}: equivalent ({} scenarios)",
            report.pair, report.scenarios
        );
    } else {
        println!(
            "{}: DIFFER ({} of {} checks failed)",
            report.pair,
            report.failures.len(),
            report.requests
        );
        for line in report.failure_lines() {
            println!("{line}");
        }
    }
}

/// Prints the summary line last (or the JSON document) and picks the exit code.
fn finish_verify(
    reports: &[PairReport],
    mut header: serde_json::Value,
    out: Output,
) -> anyhow::Result<ExitCode> {
    let summary = Summary::of(reports);
    if out.json {
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
        header["pairs"] = pairs;
        header["summary"] = serde_json::to_value(&summary)?;
        header["line"] = summary.line().into();
        println!("{}", serde_json::to_string_pretty(&header)?);
    } else {
        println!("{}", summary.line());
    }
    Ok(if summary.differ == 0 {
        ExitCode::SUCCESS
    } else {
        exit::code(exit::NOT_EQUIVALENT)
    })
}

/// `filterbench run`: one user filter, one request, in-process; the outcome as JSON.
fn run_one(args: RunArgs) -> anyhow::Result<ExitCode> {
    use filterbench_bench::harness::lua::LuaFilter;
    use filterbench_bench::harness::wasm::WasmFilter;
    use filterbench_bench::harness::{Env, Exchange, FilterVm};

    let config: serde_json::Value = match &args.config {
        Some(text) => serde_json::from_str(text).context("--config is not JSON")?,
        None => serde_json::json!({}),
    };
    let request: RunRequest = read_json(&args.request)?;
    let upstream: filterbench_bench::corpus::UpstreamReply = match &args.upstream {
        Some(path) => read_json(path)?,
        None => filterbench_bench::corpus::UpstreamReply {
            status: 200,
            headers: Vec::new(),
            body: None,
        },
    };
    let exchange = Exchange {
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: request.body.into_bytes(),
        upstream,
    };
    let env = Env::new(config);
    let (name, mut vm): (String, Box<dyn FilterVm>) = match (&args.lua, &args.wasm) {
        (Some(path), None) => {
            let name = path.display().to_string();
            let source =
                std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read"))?;
            let filter = LuaFilter::load(&name, &source)?;
            (name, Box::new(filter.vm(env.clone())?))
        }
        (None, Some(path)) => {
            let name = path.display().to_string();
            let bytes = std::fs::read(path).with_context(|| format!("{name}: cannot read"))?;
            let filter = WasmFilter::compile(&name, &bytes)?;
            (name, Box::new(filter.vm(env.clone())?))
        }
        _ => anyhow::bail!("give exactly one of --lua FILE or --wasm FILE"),
    };
    let outcome = vm.run(&exchange).map_err(|e| anyhow::anyhow!("{e}"))?;
    let logs: Vec<serde_json::Value> = env
        .logs
        .lock()
        .unwrap()
        .iter()
        .map(|(level, message)| serde_json::json!({"level": level, "message": message}))
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(
            &serde_json::json!({"filter": name, "outcome": outcome, "logs": logs})
        )?
    );
    Ok(ExitCode::SUCCESS)
}

/// The request of `filterbench run --request`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    #[serde(default = "default_method")]
    method: String,
    #[serde(default = "default_path")]
    path: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: String,
}

fn default_method() -> String {
    "GET".into()
}

fn default_path() -> String {
    "/".into()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
