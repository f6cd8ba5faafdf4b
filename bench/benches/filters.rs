//! `cargo bench`: Lua vs Wasm in-process, per pair, per operation of the widely quoted
//! Lua-vs-Wasm table, VM start-up and memory, and the harness's own cost (pass-through filters).
//! The measurement code lives in the library (`filterbench_bench::perf`) so that the
//! `filterbench` CLI runs exactly the same benches; this file only picks the profile and the
//! pair and prints errors.
//!
//! - `cargo bench` runs the `default` profile (under 10 minutes on 2 cores) and writes
//!   `reports/results/bench/summary.json` (per-request and per-op numbers from the paired,
//!   interleaved measurement; instruction counts from callgrind, which re-runs this binary under
//!   valgrind); criterion's HTML reports go to `target/criterion/report/index.html`.
//! - `FILTERBENCH_BENCH_PROFILE=quick|full cargo bench` picks another profile;
//!   `cargo bench -- <pair>` benches one pair (plus the baseline and the ops).
//! - Without `--bench` (`cargo test --benches`) every benchmark body runs once with its checks and
//!   nothing is timed or written.
//!
//! Lua runs with LuaJIT's JIT on (no instruction budget, see `perf`'s documentation).

use std::process::ExitCode;

use filterbench_bench::perf;
use filterbench_model::{project_root, Catalogue};

fn main() -> ExitCode {
    // Re-run under valgrind by the run itself to count instructions (perf::callgrind).
    if let Some(code) = perf::callgrind::child_if_requested() {
        return code;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    let only_pair = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str);
    let catalogue = match Catalogue::load(&project_root()) {
        Ok(catalogue) => catalogue,
        Err(e) => {
            eprintln!("filterbench bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if bench {
        perf::Profile::from_env()
            .and_then(|profile| perf::run(&catalogue, profile, only_pair).map(drop))
    } else {
        perf::smoke(&catalogue, only_pair, 100).map(|_| {
            println!("bench bodies ran once, all checks passed (test mode: nothing timed)")
        })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("filterbench bench: {e}");
            ExitCode::FAILURE
        }
    }
}
