//! The bench crate's integration tests: both twins of every pair in-process, on the corpus and on
//! generated requests; the benchmark bodies run once, with their checks.

mod calls;
mod in_process;
mod perf;
