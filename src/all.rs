//! `filterbench all`: the whole job from a fresh clone. Sets up what is missing (Envoy), proves
//! every pair equivalent (in-process and in real Envoy), runs the in-process benches and the
//! real-Envoy load comparisons for every pair, renders the report and prints where it is.
//!
//! Profiles: the default fits in about 12 minutes on a 2-core machine after the build (benches
//! `quick`, three load rounds of 1.5 s per variant and worker count); `--full` measures longer and
//! tighter (benches `full`, the `load` command's default rounds). Ctrl-C stops the load step, keeps
//! what was measured (the interrupted pair's result is marked partial), renders the report from
//! it and exits 130.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use filterbench_bench::perf::{self, Profile};
use filterbench_bench::verdict::Summary;
use filterbench_bench::Catalogue;
use filterbench_loadgen::compare::{
    compare, pin_current_thread, write_json_atomically, CompareSpec, Machine,
};
use filterbench_loadgen::envoy::{envoy_version, find_envoy, graceful_interrupts};
use filterbench_loadgen::load::Mode;
use filterbench_loadgen::verify::Rig;
use filterbench_reports::results::{load_path, results_dir};

use crate::report;

#[derive(clap::Args)]
pub struct AllArgs {
    /// Longer, tighter measurements (benches: criterion's `full` profile; load: 3 rounds of 3 s
    /// per variant and worker count).
    #[arg(long)]
    pub full: bool,
    /// Only this pair (repeatable); default every pair of the catalogue.
    #[arg(long = "pair", value_name = "NAME")]
    pub pairs: Vec<String>,
    /// The migration policy for the report (default reports/policy.toml).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Where to write the site (default reports/site).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The load comparison of a profile.
fn load_spec(full: bool) -> CompareSpec {
    if full {
        CompareSpec::default()
    } else {
        CompareSpec {
            workers: vec![1, 2, 4],
            // Three rounds: a median of two is a mean, and one noisy round moves it.
            rounds: 3,
            round_secs: 1.5,
            warmup_secs: 0.5,
            connections: 16,
            mode: Mode::Closed,
        }
    }
}

fn step(n: usize, what: &str) {
    println!("\n[{n}/5] {what}");
}

fn elapsed(t: Instant) -> String {
    format!("{:.0} s", t.elapsed().as_secs_f64())
}

pub fn all(root: &Path, args: AllArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let catalogue = Catalogue::load(root)?;
    // Check the policy before spending a quarter of an hour measuring.
    report::policy(root, args.policy.as_deref())?;
    let pairs = if args.pairs.is_empty() {
        catalogue.pairs.iter().collect::<Vec<_>>()
    } else {
        let mut v = Vec::new();
        for name in &args.pairs {
            v.extend(catalogue.select(Some(name))?);
        }
        v
    };
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

    step(2, "equivalence: in-process, then in real Envoy");
    let t = Instant::now();
    let in_process = crate::verify_in_process_reports(&catalogue, &pairs, false)?;
    report::save_verify(root, "in_process", None, &in_process)?;
    println!("  in-process: {}", Summary::of(&in_process).line());
    let (envoy, _) = crate::verify_envoy_reports(&catalogue, &pairs, false)?;
    report::save_verify(root, "envoy", Some(version.clone()), &envoy)?;
    println!(
        "  real Envoy: {}  ({})",
        Summary::of(&envoy).line(),
        elapsed(t)
    );
    let differ: Vec<&str> = envoy
        .iter()
        .chain(&in_process)
        .filter(|r| !r.equivalent)
        .map(|r| r.pair.as_str())
        .collect();
    for r in envoy.iter().filter(|r| !r.equivalent) {
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
    perf::run(profile, only).context("in-process benches")?;
    println!("  benches done ({})", elapsed(t));

    let spec = load_spec(args.full);
    step(
        4,
        &format!(
            "real-Envoy load: base / Lua / Wasm, workers {:?}, {} rounds of {} s, {} connections",
            spec.workers, spec.rounds, spec.round_secs, spec.connections
        ),
    );
    let t = Instant::now();
    if let Some(cpus) = Machine::probe().loadgen_cpus {
        pin_current_thread(&cpus);
    }
    let stop = graceful_interrupts();
    let rig = Rig::new(bin).context("starting the loopback echo and auth services")?;
    let bar = ProgressBar::new(pairs.len() as u64);
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("  {bar:24} {pos}/{len} pairs  {elapsed_precise}  {msg}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    let mut interrupted = false;
    for p in &pairs {
        bar.set_message(format!("{}: starting", p.name));
        let result = compare(
            &rig,
            &catalogue,
            p,
            &spec,
            &version,
            stop.clone(),
            &mut |line| {
                bar.set_message(format!("{}: {line}", p.name));
            },
        )?;
        let out = load_path(&results_dir(root), &p.name);
        write_json_atomically(&out, &result)?;
        let line = format!(
            "  {}: {}",
            p.name,
            result
                .by_workers
                .first()
                .map(|w| w
                    .variants
                    .iter()
                    .map(|v| format!("{} p50 {:.0} us", v.variant, v.p50_us))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        );
        if bar.is_hidden() {
            println!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
        if result.partial || stop.load(Ordering::SeqCst) {
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
    )?;
    report::print_summary(&rendered);
    println!("all done in {}", elapsed(started));
    if interrupted {
        println!("stopped early (Ctrl-C): the report shows what was measured");
        return Ok(ExitCode::from(130));
    }
    if !differ.is_empty() {
        println!(
            "not equivalent: {} (the report keeps Lua for them)",
            differ.join(", ")
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
