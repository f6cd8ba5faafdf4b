//! `filterbench`: should this Envoy Lua filter become a Wasm plugin?
//!
//! `filterbench verify --envoy [--pair NAME] [--json]` replays every pair's scenario corpus through
//! the Lua and the Wasm twin in a real Envoy and prints, last, a summary line such as
//! `12 pairs, 163 scenarios: 12 equivalent, 0 differ`.
//!
//! Exit codes: 0 every selected pair is equivalent; 1 some pair differs; 2 bad input or a broken
//! environment (the one-line error names the file or the tool).

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
