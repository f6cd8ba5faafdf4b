//! `loadgen`: the command line of filterbench's real-Envoy and Kubernetes side, over the
//! libraries `filterbench-envoy`, `filterbench-load` and `filterbench-k8s`. The clap code lives
//! here only: `cli_run` (`loadgen run`, `loadgen envoy`) and `k8s_cli` (`loadgen k8s ...`).
//!
//! ```text
//! loadgen k8s manifests --pair add_header --out out/k8s/add_header
//!         [--context sidecar-inbound|gateway] [--namespace NS] [--selector app=NAME ...]
//!         [--api trafficextension|legacy] [--wasm-url oci://REGISTRY/REPO:TAG | file:///path.wasm]
//!         [--set KEY=VALUE ...]
//! ```
//!
//! writes the pair's twins as Istio `TrafficExtension`s (by default; with `--api legacy` an
//! `EnvoyFilter` for the Lua twin and a `WasmPlugin` for the Wasm twin), the module as an OCI image
//! layout and a README with the push/apply commands (see `filterbench_k8s`). Run it with `cargo run -p filterbench-loadgen --bin loadgen -- ...`.
//!
//! ```text
//! loadgen run --url http://127.0.0.1:10000/ [--host H] [--pair NAME] [-c 16] [-d 10] [--rate R]
//! loadgen envoy --pair NAME --variant base|lua|wasm [--workers N] [--cpus 1]
//! ```
//!
//! `run` drives any HTTP endpoint (closed loop, or open loop with `--rate`), `envoy` starts one
//! variant of a pair in Envoy with the loopback services and prints its URL (for wrk and friends).
//!
//! Exit codes, as `filterbench`'s (`filterbench_model::exit`): 0 success; 2 bad input or a broken
//! environment (one line on stderr, naming the pair, file or tool) or a usage error (from clap);
//! 130 a `run` stopped by Ctrl-C (its partial results printed, marked partial).

use std::process::ExitCode;

use filterbench_model::exit;

use clap::{Parser, Subcommand};
use k8s_cli::K8sCommand;

mod cli_run;
mod k8s_cli;

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "filterbench's real-Envoy and Kubernetes side"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Top-level commands; each lives in its own library module.
#[derive(Debug, Subcommand)]
enum Command {
    /// Kubernetes/Istio: manifests for a kind cluster (TrafficExtension, or the legacy EnvoyFilter
    /// and WasmPlugin; OCI image layout).
    #[command(subcommand)]
    K8s(K8sCommand),
    /// Drive an HTTP endpoint (a gateway, an Envoy) and report latency, throughput and errors.
    Run(cli_run::RunArgs),
    /// Start one variant of a pair in Envoy with the loopback services; print its URL.
    Envoy(cli_run::EnvoyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::K8s(command) => k8s_cli::run(command).map(|()| ExitCode::SUCCESS),
        Command::Run(args) => cli_run::run(args),
        Command::Envoy(args) => cli_run::envoy(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "loadgen: {}",
                filterbench_model::one_line(&format!("{e:#}"))
            );
            exit::code(exit::BAD_INPUT)
        }
    }
}
