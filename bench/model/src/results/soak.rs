//! A soak result (`filterbench load --soak SECS`): each variant's Envoy memory sampled through a
//! long open-loop run; `reports/results/soak/<pair>.json`. The growth figures are computed from
//! the points when read (`filterbench_envoy::compare::soak::growth_kib_per_100k`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Variant;

/// Version of [`SoakRun`]'s JSON shape.
pub const SOAK_SCHEMA: u32 = 1;

pub fn soak_path(results: &Path, pair: &str) -> PathBuf {
    results.join("soak").join(format!("{pair}.json"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoakRun {
    pub schema_version: u32,
    pub pair: String,
    pub envoy_version: String,
    pub started_ms: u64,
    /// The open-loop rate of every variant, requests per second.
    pub rate_rps: f64,
    /// The run's planned length, seconds.
    pub secs: f64,
    pub variants: Vec<Variant>,
    /// Every variant's memory after each chunk (and once before the first), in order.
    pub points: Vec<SoakPoint>,
    /// Stopped early (Ctrl-C).
    pub partial: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoakPoint {
    pub variant: Variant,
    pub elapsed_secs: f64,
    /// Requests this variant's Envoy answered since the soak began.
    pub requests: u64,
    pub rss_bytes: u64,
    /// Envoy's allocator figure (`/memory` `allocated`).
    pub allocated_bytes: u64,
}
