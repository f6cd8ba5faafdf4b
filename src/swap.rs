//! `filterbench swap --pair NAME [--workers 1,2] [--rate R] [--out FILE]`: switch a pair's filter
//! from Lua to Wasm and back in a running Envoy under an open-loop load, then to a corrupt Wasm
//! module that must be rejected, and write what it cost to `reports/results/swap/<pair>.json`
//! (see `filterbench_envoy::swap` for how, and `filterbench_reports::swap` for the file).
//!
//! Prints one line per switch: whether Envoy took it, how long until the stats showed it on every
//! worker, the requests that failed around it and the p99 latency around it against before.
//! Exit code 0 when the run completed (whatever it measured), 130 when stopped by Ctrl-C (the
//! partial result is written), 2 on a broken environment.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use filterbench_envoy::envoy::graceful_interrupts;
use filterbench_envoy::swap::{pin_off_envoy_core, swap, SwapSpec};
use filterbench_model::results::swap::{swap_path, SwapResult};
use filterbench_model::results::{results_dir, write_json_atomically};
use filterbench_model::{project_root, Catalogue};

#[derive(clap::Args)]
pub struct SwapArgs {
    /// The pair to switch.
    #[arg(long, value_name = "NAME")]
    pair: String,
    /// Envoy worker counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    workers: Vec<u32>,
    /// Open-loop rate, requests per second (default: half of a 2 s closed-loop capacity run).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds before the first switch and between switches (the run lasts 4 of them).
    #[arg(long, default_value_t = 2.5)]
    phase_secs: f64,
    /// Connections of the load generator.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Who switches the filter: file (ECDS from a file Envoy watches) or istiod (the real Istio
    /// control plane pushes the pair's TrafficExtension, rewritten from lua: to wasm: and back
    /// in its config directory, to a sidecar Envoy).
    #[arg(long, value_enum, default_value_t = SwitchBy::File)]
    control_plane: SwitchBy,
    /// Where to write the JSON result (default reports/results/swap/<pair>.json, or
    /// <pair>-istiod.json with --control-plane istiod).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// Who switches the filter in `swap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SwitchBy {
    /// ECDS from a file Envoy watches: Envoy's own mechanism, no control plane.
    File,
    /// istiod, built by the project (`loadgen/istiod`), pushing the TrafficExtension.
    Istiod,
}

pub fn run(args: SwapArgs) -> anyhow::Result<ExitCode> {
    let root = project_root();
    let catalogue = Catalogue::load(&root)?;
    let pair = catalogue.select(Some(&args.pair))?[0];
    if args.workers.is_empty() || args.workers.iter().any(|&w| w == 0 || w > 64) {
        anyhow::bail!("--workers must list worker counts between 1 and 64");
    }
    if !(args.phase_secs >= 0.5 && args.phase_secs <= 60.0) {
        anyhow::bail!("--phase-secs must be in [0.5, 60]");
    }
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0 && rate <= 1_000_000.0) {
            anyhow::bail!("--rate must be a positive number of requests per second");
        }
    }
    let spec = SwapSpec {
        workers: args.workers,
        rate: args.rate,
        connections: args.connections.clamp(1, 1024),
        phase: Duration::from_secs_f64(args.phase_secs),
        ..SwapSpec::default()
    };
    let stop = graceful_interrupts();
    // Pinned first, so that the loopback services' threads start off Envoy's core too.
    pin_off_envoy_core();
    let (rig, version) = crate::envoy_rig()?;
    let control_plane = match args.control_plane {
        SwitchBy::File => None,
        SwitchBy::Istiod => Some(
            filterbench_envoy::verify_istiod::ControlPlane::build(&root)
                .context("the real control plane (istiod)")?,
        ),
    };
    match &control_plane {
        None => eprintln!("swap {} in Envoy {version}", pair.name),
        Some(cp) => eprintln!(
            "swap {} in Envoy {version}, pushed by {}",
            pair.name,
            cp.describe()
        ),
    }
    let result = swap(
        &rig,
        &catalogue,
        pair,
        &spec,
        &version,
        control_plane.as_ref(),
        stop,
        &mut |line| eprintln!("  {line}"),
    )?;
    let out = args.out.unwrap_or_else(|| match args.control_plane {
        SwitchBy::File => swap_path(&results_dir(&root), &pair.name),
        SwitchBy::Istiod => swap_path(&results_dir(&root), &format!("{}-istiod", pair.name)),
    });
    write_json_atomically(&out, &result).with_context(|| format!("writing {}", out.display()))?;
    print_switches(&result);
    println!(
        "wrote {}{}",
        out.display(),
        if result.partial {
            " (partial: stopped early)"
        } else {
            ""
        }
    );
    Ok(if result.partial {
        filterbench_model::exit::code(filterbench_model::exit::INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Each worker count's switches (taken or not, how long until the stats and the workers showed
/// it, what failed in the window), and its whole run.
fn print_switches(result: &SwapResult) {
    println!(
        "{:>7} {:>22} {:>8} {:>10} {:>10} {:>7} {:>9} {:>9} {:>9} {:>11}",
        "workers",
        "switch",
        "Envoy",
        "stats ms",
        "workers ms",
        "failed",
        "in window",
        "p99 pre",
        "p99 ms",
        "VMs"
    );
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    for run in &result.by_workers {
        for s in &run.switches {
            println!(
                "{:>7} {:>22} {:>8} {:>10} {:>10} {:>7} {:>9} {:>9.2} {:>9.2} {:>11}",
                run.workers,
                format!("{} -> {}", s.from, s.to),
                if s.accepted {
                    "taken"
                } else if s.rejected {
                    "rejected"
                } else {
                    "ignored"
                },
                ms(s.reload_seen_ms),
                ms(s.converged_ms),
                s.window.failed.total(),
                s.window.requests,
                s.window.p99_before_us as f64 / 1000.0,
                s.window.p99_us as f64 / 1000.0,
                format!(
                    "{} -> {}",
                    s.memory_before.wasm_vms, s.memory_after.wasm_vms
                ),
            );
            if !s.accepted {
                if let Some(why) = s.log.first() {
                    println!("        {why}");
                }
            }
        }
        println!(
            "{:>7} whole run: {} requests at {:.0} req/s, {} failed; RSS {:.1} -> {:.1} MiB; \
             probes {}/{} as verified",
            run.workers,
            run.requests,
            run.rate_rps,
            run.failed.total(),
            run.memory_start.rss_bytes as f64 / 1048576.0,
            run.memory_end.rss_bytes as f64 / 1048576.0,
            run.probes.as_expected,
            run.probes.sent
        );
        for m in &run.probes.mismatches {
            println!("        probe mismatch: {m}");
        }
    }
}
