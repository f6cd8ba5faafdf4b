//! The bench crate's integration tests: both twins of every pair in-process, on the corpus and on
//! generated requests.

mod in_process;
