//! filterbench's reports: the migration decision tree ([`decision`]) over the result files
//! (`filterbench_model::results`) and their medians with bootstrap intervals
//! (`filterbench_model::stats`), fed by the equivalence, in-process and real-Envoy results
//! ([`evidence`]), with thresholds from `reports/policy.toml`,
//! and the static HTML report ([`site`]) with its SVG charts ([`charts`]), the check of the
//! quoted operation table ([`claims`]), the mechanism's share of each pair's cost ([`mechanism`]) and the live Lua-to-Wasm switch ([`swap`], its timeline
//! chart in [`swap_chart`]); HTML helpers in [`html`].
//!
//! The CLI calls [`site::render`] with the catalogue's pairs (`filterbench_model::catalogue`,
//! whose result files and statistics this crate reads too). Tests: `cargo test -p
//! filterbench-reports`.

pub mod charts;
pub mod claims;
pub mod configs;
pub mod decision;
pub mod evidence;
pub mod failure;
pub mod html;
pub mod mechanism;
pub mod site;
pub mod swap;
pub mod swap_chart;

use std::path::PathBuf;

/// Errors of this crate that are not a result file's ([`results::ReadError`]) or a render's.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The migration policy file cannot be read or parsed.
    #[error("{}: {message}", path.display())]
    Policy { path: PathBuf, message: String },
}
