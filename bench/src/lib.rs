//! The in-process side of filterbench: both twins of a pair run in this process, Lua in LuaJIT
//! (mlua) and Wasm in wasmtime, behind host APIs that behave like Envoy's, so that equivalence
//! can be checked and the twins measured without Envoy.
//!
//! - [`harness`]: the two hosts (`harness::lua`, `harness::wasm`), the driver that loads a pair's
//!   twins and replays its corpus or generated exchanges through both (`harness::driver`);
//! - [`perf`]: the in-process benchmarks (paired rounds, criterion, callgrind), run by
//!   `cargo bench` and the CLI, written as `reports/results/bench/summary.json`.
//!
//! The data it works on (catalogue, corpus, outcomes, result files) is `filterbench-model`'s; the
//! modules it loads are built by `filterbench-build`'s build script.

pub mod harness;
pub mod perf;
