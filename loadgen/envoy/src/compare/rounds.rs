//! When the paired rounds stop: the rotating order of the variants in a round and the CPU
//! interval the rounds narrow (Wasm minus Lua, or Lua minus the baseline in a Lua-only run)
//! with the half-width it must reach.

use filterbench_model::results::{LoadPlan, Sample, Variant};
use filterbench_model::stats::{paired, Interval};

/// Envoy CPU per request of `v`, one entry per round so far (`None` where it lacks one).
fn cpu_per_round(rounds: &[Sample], v: Variant) -> Vec<Option<f64>> {
    let n = rounds.iter().map(|s| s.round + 1).max().unwrap_or(0);
    let mut out = vec![None; n];
    for s in rounds.iter().filter(|s| s.variant == v) {
        out[s.round] = Some(s.envoy_cpu_us_per_request);
    }
    out
}

/// The order of round `round`: the variants rotated by the round number (ABC, BCA, CAB, ...).
pub fn round_order(variants: &[Variant], round: usize) -> Vec<Variant> {
    let mut v = variants.to_vec();
    if !v.is_empty() {
        let n = v.len();
        v.rotate_left(round % n);
    }
    v
}

/// The CPU interval the rounds narrow, and the half-width it must reach: Wasm minus Lua
/// ([`convergence`]), or in a Lua-only run Lua minus the baseline ([`lua_convergence`]).
pub fn narrowed(rounds: &[Sample], plan: &LoadPlan, lua_only: bool) -> Option<(Interval, f64)> {
    if lua_only {
        lua_convergence(rounds, plan)
    } else {
        convergence(rounds, plan)
    }
}

/// The Lua-minus-baseline CPU interval of a Lua-only run's rounds so far and the half-width it
/// must reach: the policy's target in microseconds or its share of what Lua adds, the larger.
pub fn lua_convergence(rounds: &[Sample], plan: &LoadPlan) -> Option<(Interval, f64)> {
    let per = |v| cpu_per_round(rounds, v);
    let lua_over = Interval::of_median(&paired(&per(Variant::Lua), &per(Variant::Base)))?;
    let target = plan
        .target_half_width_us
        .max(plan.target_half_width_pct / 100.0 * lua_over.median.abs());
    Some((lua_over, target))
}

/// The Wasm-minus-Lua CPU interval of the rounds so far and the half-width it must reach.
pub fn convergence(rounds: &[Sample], plan: &LoadPlan) -> Option<(Interval, f64)> {
    let per = |v| cpu_per_round(rounds, v);
    let (base, lua, wasm) = (per(Variant::Base), per(Variant::Lua), per(Variant::WASM));
    let diff = Interval::of_median(&paired(&wasm, &lua))?;
    let lua_over = Interval::of_median(&paired(&lua, &base))?.median.abs();
    let wasm_over = Interval::of_median(&paired(&wasm, &base))?.median.abs();
    let target = plan
        .target_half_width_us
        .max(plan.target_half_width_pct / 100.0 * lua_over.min(wasm_over));
    Some((diff, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_rotate_their_order() {
        let v = [Variant::Base, Variant::Lua, Variant::WASM];
        assert_eq!(round_order(&v, 0), v.to_vec());
        assert_eq!(
            round_order(&v, 1),
            vec![Variant::Lua, Variant::WASM, Variant::Base]
        );
        assert_eq!(
            round_order(&v, 2),
            vec![Variant::WASM, Variant::Base, Variant::Lua]
        );
        assert_eq!(round_order(&v, 3), v.to_vec());
    }

    fn sample(variant: Variant, round: usize, cpu: f64) -> Sample {
        Sample {
            variant,
            round,
            slot: 0,
            open_loop: true,
            secs: 1.0,
            responses: 1000,
            throughput_rps: 1000.0,
            p50_us: 100.0,
            p90_us: 150.0,
            p99_us: 300.0,
            errors: 0,
            non_2xx: 0,
            envoy_cpu_us_per_request: cpu,
            envoy_busy: 0.4,
            driver_busy: 0.4,
        }
    }

    #[test]
    fn a_lua_only_run_narrows_what_lua_adds_over_the_baseline() {
        let plan = crate::compare::plan(
            &filterbench_model::results::MeasurementPolicy {
                target_half_width_us: 2.0,
                target_half_width_pct: 10.0,
                min_rounds: 6,
                max_rounds: 40,
                pair_budget_secs: 36.0,
            },
            false,
        );
        // The baseline drifts by 20 us between rounds; Lua adds 50 us (+-0.5) in each.
        let rounds: Vec<Sample> = (0..8)
            .flat_map(|r| {
                let base = 100.0 + 20.0 * (r % 2) as f64;
                let jitter = if r % 3 == 0 { 0.5 } else { -0.5 };
                [
                    sample(Variant::Base, r, base),
                    sample(Variant::Lua, r, base + 50.0 + jitter),
                ]
            })
            .collect();
        let (i, target) = narrowed(&rounds, &plan, true).unwrap();
        assert!(i.low >= 49.0 && i.high <= 51.0, "{i:?}");
        assert!((target - 5.0).abs() < 0.2, "10% of ~50 us: {target}");
        // Without Wasm samples there is no Wasm-minus-Lua interval to narrow.
        assert_eq!(narrowed(&rounds, &plan, false), None);
    }
}
