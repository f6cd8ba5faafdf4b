//! filterbench's integration tests: the real-Envoy equivalence of every pair, that every twin
//! loads in Envoy, the one-line errors for bad input, that no Envoy outlives its run, and a
//! user's own workspace (`filterbench new`, `--workspace`).
//!
//! These tests start real Envoy 1.40 processes (found or installed as `filterbench` does) and talk
//! to them over 127.0.0.1 only.

mod all;
mod support;

mod bad_input;
mod cli;
mod configs;
mod docs;
mod equivalence;
mod fidelity;
mod hostile;
mod load;
mod own_filter;
mod published;
mod reaping;
mod record;
mod report;
mod run;
mod swap;
mod twins;
mod workspace;
mod workspace_twins;
