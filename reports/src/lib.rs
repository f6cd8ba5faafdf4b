//! filterbench's reports: the result files ([`results`]), the migration decision tree
//! ([`decision`]), fed by the equivalence, in-process and real-Envoy results ([`evidence`]), with
//! thresholds from `reports/policy.toml`, and the static HTML report ([`site`]) with its SVG
//! charts ([`charts`]) and the check of the quoted operation table ([`claims`]).
//!
//! The CLI calls [`site::render`] with the catalogue's pairs as [`evidence::PairInput`]s; this
//! crate does not depend on the catalogue's crate. Tests: `cargo test -p filterbench-reports`.

pub mod charts;
pub mod claims;
pub mod decision;
pub mod evidence;
pub mod failure;
pub mod html;
pub mod results;
pub mod site;
