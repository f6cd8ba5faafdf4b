//! filterbench's reports: the result files ([`results`]), the migration decision tree
//! ([`decision`]), fed by the equivalence, in-process and real-Envoy results, with thresholds
//! from `reports/policy.toml`.

pub mod decision;
pub mod results;
