//! A soak result (`filterbench load --soak SECS`): each variant's Envoy memory sampled through a
//! long open-loop run; `reports/results/soak/<pair>.json`. The growth figures are computed from
//! the points when read (`filterbench_envoy::compare::soak::growth_kib_per_100k`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Variant;
use crate::stats::{resamples, Interval};

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

/// Growth of `variant`'s RSS in KiB per 100k requests after the warm-up (the first quarter of
/// the samples is left out: states, caches and arenas fill there): RSS gained over requests
/// served between the first and the last sample kept (the ratio of the sums of the per-chunk
/// increments), with a 95% percentile-bootstrap interval over the chunks (fixed seed). A leak
/// that steps up every few chunks is counted (a median of increments would read it as zero);
/// an allocator step up and down cancels. `None` with fewer than three chunks that served
/// requests. The interval's `median` field holds the estimate.
pub fn growth_kib_per_100k(run: &SoakRun, variant: Variant) -> Option<Interval> {
    let points: Vec<&SoakPoint> = run.points.iter().filter(|p| p.variant == variant).collect();
    let kept = &points[points.len() / 4..];
    let steps: Vec<(f64, f64)> = kept
        .windows(2)
        .filter(|w| w[1].requests > w[0].requests)
        .map(|w| {
            (
                (w[1].rss_bytes as f64 - w[0].rss_bytes as f64) / 1024.0,
                (w[1].requests - w[0].requests) as f64,
            )
        })
        .collect();
    if steps.len() < 3 {
        return None;
    }
    let rate = |idx: &mut dyn Iterator<Item = usize>| {
        let (kib, req) = idx.fold((0.0, 0.0), |(k, r), i| (k + steps[i].0, r + steps[i].1));
        kib / req * 100_000.0
    };
    let estimate = rate(&mut (0..steps.len()));
    let mut rates: Vec<f64> = resamples(steps.len(), 1000, steps.len() as u64)
        .iter()
        .map(|idx| rate(&mut idx.iter().copied()))
        .collect();
    rates.sort_by(f64::total_cmp);
    let at = |q: f64| rates[((rates.len() - 1) as f64 * q).round() as usize];
    Some(Interval {
        median: estimate,
        low: at(0.025),
        high: at(0.975),
        n: steps.len(),
    })
}

/// "no measurable growth" or "grows X [a, b] KiB per 100k requests".
pub fn growth_words(growth: Option<Interval>) -> String {
    match growth {
        None => "too few samples to say".into(),
        Some(i) if i.low <= 0.0 && i.high >= 0.0 => format!(
            "no measurable growth ({} KiB per 100k requests)",
            i.signed(1)
        ),
        Some(i) => format!("grows {} KiB per 100k requests", i.signed(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(rss: &[(u64, u64)]) -> SoakRun {
        SoakRun {
            schema_version: SOAK_SCHEMA,
            pair: "p".into(),
            envoy_version: "test".into(),
            started_ms: 0,
            rate_rps: 100.0,
            secs: 10.0,
            variants: vec![Variant::Lua],
            points: rss
                .iter()
                .enumerate()
                .map(|(i, (requests, rss))| SoakPoint {
                    variant: Variant::Lua,
                    elapsed_secs: i as f64,
                    requests: *requests,
                    rss_bytes: *rss,
                    allocated_bytes: 0,
                })
                .collect(),
            partial: false,
        }
    }

    #[test]
    fn a_steady_leak_is_measured_and_a_flat_line_is_no_measurable_growth() {
        // 10 KiB more every 10k requests: 100 KiB per 100k.
        let leak: Vec<(u64, u64)> = (0..12)
            .map(|i| (i * 10_000, (50 << 20) + i * 10 * 1024))
            .collect();
        let g = growth_kib_per_100k(&run_with(&leak), Variant::Lua).unwrap();
        assert!((g.median - 100.0).abs() < 1e-6, "{g:?}");
        assert!(
            growth_words(Some(g)).starts_with("grows +100.0"),
            "{}",
            growth_words(Some(g))
        );
        // Flat with one allocator step up and one down.
        let mut flat: Vec<(u64, u64)> = (0..12).map(|i| (i * 10_000, 50 << 20)).collect();
        flat[4].1 += 4096;
        flat[8].1 -= 4096;
        let g = growth_kib_per_100k(&run_with(&flat), Variant::Lua).unwrap();
        assert!(
            growth_words(Some(g)).starts_with("no measurable growth"),
            "{g:?}"
        );
        // A leak that steps up 30 KiB every third chunk (10k requests each): 100 KiB per 100k,
        // although most chunks grow by nothing.
        let steps: Vec<(u64, u64)> = (0..16)
            .map(|i| (i * 10_000, (50 << 20) + (i / 3) * 30 * 1024))
            .collect();
        let g = growth_kib_per_100k(&run_with(&steps), Variant::Lua).unwrap();
        assert!(g.low > 0.0 && (g.median - 100.0).abs() < 25.0, "{g:?}");
        // Too few chunks.
        assert_eq!(
            growth_kib_per_100k(&run_with(&leak[..3]), Variant::Lua),
            None
        );
    }
}
