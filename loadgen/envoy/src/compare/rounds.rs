//! When the paired rounds stop: the rotating order of the variants in a round and the CPU
//! interval the rounds narrow (Wasm minus Lua, or Lua minus the baseline in a Lua-only run)
//! with the half-width it must reach.

use filterbench_model::results::{per_round_of, LoadPlan, Sample, Variant};
use filterbench_model::stats::{paired, Interval};

/// Envoy CPU per request of `v`, one entry per round so far (`None` where it lacks one, or
/// where any variant of the round fell behind its rate: such a round is left out).
fn cpu_per_round(rounds: &[Sample], v: Variant) -> Vec<Option<f64>> {
    per_round_of(rounds, v, |s| s.envoy_cpu_us_per_request)
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
            behind: false,
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
                extra_budget_secs: 0.0,
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

    fn policy() -> LoadPlan {
        crate::compare::plan(
            &filterbench_model::results::MeasurementPolicy {
                target_half_width_us: 2.0,
                target_half_width_pct: 10.0,
                min_rounds: 6,
                max_rounds: 40,
                pair_budget_secs: 36.0,
                extra_budget_secs: 0.0,
            },
            false,
        )
    }

    /// Rounds where every variant meets `drift(round, variant)` on top of its own cost: base
    /// 100 us, Lua +40, Wasm +48 (+-0.5 us of per-variant jitter).
    fn rounds_with(n: usize, drift: impl Fn(usize, usize) -> f64) -> Vec<Sample> {
        (0..n)
            .flat_map(|r| {
                let jitter = |k: usize| 0.5 * ((r * 7 + k * 3) as f64).sin();
                let d = &drift;
                [
                    sample(Variant::Base, r, 100.0 + d(r, 0) + jitter(0)),
                    sample(Variant::Lua, r, 140.0 + d(r, 1) + jitter(1)),
                    sample(Variant::WASM, r, 148.0 + d(r, 2) + jitter(2)),
                ]
            })
            .collect()
    }

    #[test]
    fn a_drift_shared_by_the_variants_of_a_simultaneous_round_cancels() {
        let plan = policy();
        // The machine's mood swings by up to +-40 us from round to round; in a simultaneous
        // round it hits every variant alike.
        let mood = |r: usize| 40.0 * ((r as f64) * 1.7).sin();
        let shared = rounds_with(10, |r, _| mood(r));
        let (i, _) = convergence(&shared, &plan).unwrap();
        assert!(i.low > 7.0 && i.high < 9.0, "Wasm - Lua is 8 us: {i:?}");
        assert!(i.half_width() <= 2.0, "{i:?}");
        // The same moods met at different moments (one after another: each variant its own)
        // do not cancel: the interval is many times wider.
        let apart = rounds_with(10, |r, v| mood(r * 3 + v));
        let (j, _) = convergence(&apart, &plan).unwrap();
        assert!(j.half_width() > 5.0 * i.half_width(), "{j:?} vs {i:?}");
    }

    #[test]
    fn a_round_where_an_envoy_fell_behind_its_rate_is_left_out_and_flagged() {
        let plan = policy();
        let mut rounds = rounds_with(8, |_, _| 0.0);
        let (clean, _) = convergence(&rounds, &plan).unwrap();
        // Round 4: the Wasm Envoy answered 800 of the 1000 requests its rate asked for; its CPU
        // per request is off by hundreds of microseconds.
        let rate = 1000.0;
        for s in rounds.iter_mut().filter(|s| s.round == 3) {
            s.throughput_rps = if s.variant == Variant::WASM {
                800.0
            } else {
                999.0
            };
            s.behind = crate::compare::fell_behind(
                filterbench_load::load::Mode::Open { rate },
                s.throughput_rps,
            );
            if s.variant == Variant::WASM {
                s.envoy_cpu_us_per_request += 400.0;
            }
        }
        let flagged: Vec<(Variant, bool)> = rounds
            .iter()
            .filter(|s| s.round == 3)
            .map(|s| (s.variant, s.behind))
            .collect();
        assert_eq!(
            flagged,
            vec![
                (Variant::Base, false),
                (Variant::Lua, false),
                (Variant::WASM, true)
            ]
        );
        assert_eq!(filterbench_model::results::behind_rounds(&rounds), vec![3]);
        let (i, _) = convergence(&rounds, &plan).unwrap();
        assert_eq!(i.n, clean.n - 1, "the flagged round is left out");
        assert!(
            i.high < 10.0,
            "its wild figure is not in the interval: {i:?}"
        );
        // Closed-loop windows are never behind a rate.
        assert!(!crate::compare::fell_behind(
            filterbench_load::load::Mode::Closed,
            1.0
        ));
    }

    #[test]
    fn the_simultaneous_rate_keeps_envoys_core_and_the_drivers_below_saturation() {
        let at = |v: Variant, cpu: f64, rps: f64| Sample {
            open_loop: false,
            throughput_rps: rps,
            ..sample(v, 0, cpu)
        };
        let v = [Variant::Base, Variant::Lua, Variant::WASM];
        // Envoy the limit: 50 + 70 + 80 us per request; 40% of one core is 400,000 us per
        // second: 2,000 requests per second each.
        let envoy_bound = [
            at(Variant::Base, 50.0, 20_000.0),
            at(Variant::Lua, 70.0, 14_000.0),
            at(Variant::WASM, 80.0, 12_500.0),
        ];
        let rate = crate::compare::simultaneous_rate(&envoy_bound, &v, 0.4, 1).unwrap();
        assert!((rate - 2_000.0).abs() < 1e-6, "{rate}");
        // The driver the limit (every variant stuck at 3,000 req/s closed loop, Envoy half
        // idle): the three generators together get 40% of it, 400 each.
        let driver_bound = [
            at(Variant::Base, 50.0, 3_000.0),
            at(Variant::Lua, 70.0, 3_000.0),
            at(Variant::WASM, 80.0, 3_000.0),
        ];
        let rate = crate::compare::simultaneous_rate(&driver_bound, &v, 0.4, 1).unwrap();
        assert!((rate - 400.0).abs() < 1e-6, "{rate}");
        // A variant without a CPU figure: no rate.
        assert!(crate::compare::simultaneous_rate(&envoy_bound[..2], &v, 0.4, 1).is_none());
    }
}
