//! Runs the pass-through baseline request in a loop on one side, for profiling the harness:
//! `cargo build --release --example harness_loop && perf record -g target/release/examples/harness_loop lua 2000000`.
//! Prints the mean time per request (a rough figure; `cargo bench` is the measurement).

use std::time::Instant;

use filterbench_bench::harness::driver::Side;
use filterbench_bench::perf::subjects::{self, GuestPair};

fn main() {
    let mut args = std::env::args().skip(1);
    let side = match args.next().as_deref() {
        Some("wasm") => Side::Wasm,
        _ => Side::Lua,
    };
    let n: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let root = filterbench_model::project_root();
    let pair = GuestPair::load(&root, subjects::PASSTHROUGH_LUA, subjects::PASSTHROUGH_WASM)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut s = pair
        .subject(
            "baseline",
            side,
            serde_json::json!({}),
            subjects::plain_request(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(s.request_or_panic());
    }
    let per = start.elapsed().as_nanos() as f64 / n as f64;
    println!("{}: {per:.0} ns per request ({n} requests)", side.name());
}
