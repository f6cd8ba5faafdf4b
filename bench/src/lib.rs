//! The in-process side of filterbench: both twins of a pair run in this process, Lua in LuaJIT
//! (mlua) and Wasm in wasmtime, behind host APIs that behave like Envoy's, so that equivalence
//! can be checked and the twins measured without Envoy.
//!
//! - [`harness`]: the two hosts (`harness::lua`, `harness::wasm`), the driver that loads a pair's
//!   twins and replays its corpus or generated exchanges through both (`harness::driver`);
//! - [`perf`]: the in-process benchmarks (paired rounds, criterion, callgrind), run by
//!   `cargo bench` and the CLI, written as `reports/results/bench/summary.json`.
//!
//! The data it works on lives in `filterbench-model` and is re-exported here under its old paths
//! (`catalogue`, `corpus`, `outcome`, `replay`, `verdict`, `results`, `stats`, [`Error`],
//! [`project_root`], [`wasm_dir`], ...), so `filterbench_bench::catalogue::Pair` and
//! `crate::outcome::Outcome` keep naming the same types. The Wasm filters are built by the model
//! crate's build script.

pub mod harness;
pub mod perf;

pub use filterbench_model::{
    calls, catalogue, corpus, now_ms, one_line, outcome, project_root, replay, request, results,
    stats, verdict, wasm_dir, Catalogue, Corpus, Diff, Error, Outcome, Pair, Result, Scenario,
    Twin, TwinKind,
};
