//! `loadgen`: the command line of filterbench's real-Envoy and Kubernetes side. A thin
//! dispatcher over the `filterbench_loadgen` library.
//!
//! ```text
//! loadgen k8s manifests --pair add_header --out out/k8s/add_header
//!         [--context sidecar-inbound|gateway] [--namespace NS] [--selector app=NAME ...]
//!         [--wasm-url oci://REGISTRY/REPO:TAG | file:///path.wasm] [--set KEY=VALUE ...]
//! ```
//!
//! writes the pair's Istio `EnvoyFilter` (the Lua twin), `WasmPlugin` (the Wasm twin), the module
//! as an OCI image layout and a README with the push/apply commands (see
//! `filterbench_loadgen::k8s`). Run it with `cargo run -p filterbench-loadgen --bin loadgen -- ...`.
//!
//! ```text
//! loadgen run --url http://127.0.0.1:10000/ [--host H] [--pair NAME] [-c 16] [-d 10] [--rate R]
//! loadgen envoy --pair NAME --variant base|lua|wasm [--workers N] [--cpus 1]
//! ```
//!
//! `run` drives any HTTP endpoint (closed loop, or open loop with `--rate`), `envoy` starts one
//! variant of a pair in Envoy with the loopback services and prints its URL (for wrk and friends).
//!
//! Exit codes: 0 success, 1 an error (one line on stderr, naming the pair or file), 2 a usage
//! error (from clap).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use filterbench_loadgen::k8s::cli::K8sCommand;

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
    /// Kubernetes/Istio: manifests for a kind cluster (EnvoyFilter, WasmPlugin, OCI image layout).
    #[command(subcommand)]
    K8s(K8sCommand),
    /// Drive an HTTP endpoint (a gateway, an Envoy) and report latency, throughput and errors.
    Run(filterbench_loadgen::cli_run::RunArgs),
    /// Start one variant of a pair in Envoy with the loopback services; print its URL.
    Envoy(filterbench_loadgen::cli_run::EnvoyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::K8s(command) => {
            filterbench_loadgen::k8s::cli::run(command).map(|()| ExitCode::SUCCESS)
        }
        Command::Run(args) => filterbench_loadgen::cli_run::run(args),
        Command::Envoy(args) => filterbench_loadgen::cli_run::envoy(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "loadgen: {}",
                filterbench_bench::one_line(&format!("{e:#}"))
            );
            ExitCode::FAILURE
        }
    }
}
