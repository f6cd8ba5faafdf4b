//! `filterbench`: should this Envoy Lua filter become a Wasm plugin?
//!
//! `filterbench verify --envoy [--pair NAME] [--json]` replays every pair's scenario corpus through
//! the Lua and the Wasm twin in a real Envoy and prints, last, a summary line such as
//! `12 pairs, 163 scenarios: 12 equivalent, 0 differ`.
//!
//! `filterbench load --pair NAME` measures baseline, Lua and Wasm Envoys under load (interleaved
//! rounds, worker counts 1, 2, 4) and writes `reports/results/load/<pair>.json`.
//!
//! Exit codes: 0 every selected pair is equivalent / the load run completed; 1 some pair differs;
//! 2 bad input or a broken environment (the one-line error names the file or the tool); 130 a load
//! run stopped by Ctrl-C (its partial results are written, marked partial).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use filterbench_bench::verdict::Summary;
use filterbench_bench::{project_root, Catalogue};
use filterbench_loadgen::envoy::{envoy_version, find_envoy};
use filterbench_loadgen::verify::{verify_pair, Rig};

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
    Verify {
        /// Run the corpus through a real Envoy (Lua listener vs Wasm listener).
        #[arg(long, required = true)]
        envoy: bool,
        /// Only this pair.
        #[arg(long, value_name = "NAME")]
        pair: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// With --json: include every scenario's raw Lua and Wasm outcomes.
        #[arg(long, requires = "json")]
        outcomes: bool,
    },
    /// Measure baseline, Lua and Wasm Envoys side by side under load.
    Load(LoadArgs),
}

#[derive(clap::Args)]
struct LoadArgs {
    /// The pair to measure.
    #[arg(long, value_name = "NAME")]
    pair: String,
    /// Envoy worker counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    workers: Vec<u32>,
    /// Interleaved rounds per variant.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds per round.
    #[arg(long, default_value_t = 3.0)]
    round_secs: f64,
    /// Warm-up seconds per variant.
    #[arg(long, default_value_t = 1.0)]
    warmup_secs: f64,
    /// Connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Open loop at this many requests per second (default: closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Where to write the JSON result (default reports/results/load/<pair>.json).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Print the result as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", filterbench_bench::one_line(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Verify {
            envoy: _,
            pair,
            json,
            outcomes,
        } => verify_envoy(pair.as_deref(), json, outcomes),
        Command::Load(args) => load(args),
    }
}

fn verify_envoy(pair: Option<&str>, json: bool, outcomes: bool) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let catalogue = Catalogue::load(&root)?;
    let pairs = catalogue.select(pair)?;
    let bin = find_envoy()?;
    let version = envoy_version(&bin)?;
    let rig = Rig::new(bin.clone()).context("starting the loopback echo and auth services")?;
    if !json {
        println!(
            "verifying {} pair(s) in Envoy {version} ({})",
            pairs.len(),
            bin.display()
        );
    }
    let mut reports = Vec::new();
    for pair in pairs {
        let report = verify_pair(&rig, &catalogue, pair)?;
        if !json {
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
        reports.push(report);
    }
    let summary = Summary::of(&reports);
    if json {
        let mut pairs = serde_json::to_value(&reports)?;
        if outcomes {
            for (value, report) in pairs.as_array_mut().into_iter().flatten().zip(&reports) {
                value["outcomes"] = report
                    .results
                    .iter()
                    .map(|r| serde_json::json!({"scenario": r.scenario, "lua": r.lua, "wasm": r.wasm}))
                    .collect();
            }
        }
        let out = serde_json::json!({
            "mode": "envoy",
            "envoy_version": version,
            "pairs": pairs,
            "summary": summary,
            "line": summary.line(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", summary.line());
    }
    Ok(if summary.differ == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn load(args: LoadArgs) -> anyhow::Result<ExitCode> {
    use filterbench_loadgen::compare::{
        compare, pin_current_thread, write_json_atomically, CompareSpec, Machine,
    };
    use filterbench_loadgen::load::Mode;

    let root = project_root();
    let catalogue = Catalogue::load(&root)?;
    let pair = catalogue.select(Some(&args.pair))?[0];
    if args.workers.is_empty() || args.workers.iter().any(|&w| w == 0 || w > 64) {
        anyhow::bail!("--workers must list worker counts between 1 and 64");
    }
    if !(args.round_secs > 0.0
        && args.round_secs <= 600.0
        && args.warmup_secs >= 0.0
        && args.warmup_secs <= 600.0)
    {
        anyhow::bail!("--round-secs must be in (0, 600] and --warmup-secs in [0, 600]");
    }
    let spec = CompareSpec {
        workers: args.workers,
        rounds: args.rounds.max(1),
        round_secs: args.round_secs,
        warmup_secs: args.warmup_secs,
        connections: args.connections.max(1),
        mode: match args.rate {
            Some(rate) => Mode::Open { rate },
            None => Mode::Closed,
        },
    };
    let bin = find_envoy()?;
    let version = envoy_version(&bin)?;
    // The load generator and the loopback services stay off the core Envoy is pinned to.
    if let Some(cpus) = Machine::probe().loadgen_cpus {
        pin_current_thread(&cpus);
    }
    let stop = filterbench_loadgen::envoy::graceful_interrupts();
    let rig = Rig::new(bin).context("starting the loopback echo and auth services")?;
    let quiet = args.json;
    let result = compare(&rig, &catalogue, pair, &spec, &version, stop, &mut |line| {
        if !quiet {
            eprintln!("  {line}");
        }
    })?;
    let out = args.out.unwrap_or_else(|| {
        root.join("reports")
            .join("results")
            .join("load")
            .join(format!("{}.json", pair.name))
    });
    write_json_atomically(&out, &result)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!(
            "{} in Envoy {version}, {} requests in the mix, {:?}",
            pair.name, result.requests_in_mix, spec.mode
        );
        println!(
            "{:>7} {:>5} {:>10} {:>9} {:>9} {:>11} {:>9} {:>7} {:>8}",
            "workers",
            "var",
            "req/s",
            "p50 us",
            "p99 us",
            "cpu us/req",
            "RSS MiB",
            "VMs",
            "vs base"
        );
        for w in &result.by_workers {
            let base = w
                .variants
                .iter()
                .find(|v| v.variant == "base")
                .map(|v| v.throughput_rps)
                .unwrap_or(0.0);
            for v in &w.variants {
                println!(
                    "{:>7} {:>5} {:>10.0} {:>9.0} {:>9.0} {:>11.1} {:>9.1} {:>7} {:>7.2}x",
                    w.workers,
                    v.variant,
                    v.throughput_rps,
                    v.p50_us,
                    v.p99_us,
                    v.envoy_cpu_us_per_request,
                    v.memory.rss_bytes as f64 / 1048576.0,
                    v.memory.wasm_vms,
                    if base > 0.0 {
                        v.throughput_rps / base
                    } else {
                        0.0
                    }
                );
            }
        }
        println!(
            "wrote {}{}",
            out.display(),
            if result.partial {
                " (partial: stopped early)"
            } else {
                ""
            }
        );
    }
    Ok(if result.partial {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}
