//! Medians with confidence intervals over measurement rounds, and the resampling the verdict's
//! confidence is made of.
//!
//! The method, as the report states it: a measured difference is the **median of paired
//! differences** (variant minus baseline, or Wasm minus Lua, *of the same round*, so that drift
//! between rounds cancels), and its 95% interval is a **percentile bootstrap** over rounds
//! ([`BOOTSTRAP_RESAMPLES`] resamples of the rounds with replacement, the 2.5th and 97.5th
//! percentiles of the resampled medians). The random numbers come from a fixed seed, so the same
//! rounds always give the same interval: a report rendered twice from the same files is the same
//! report.
//!
//! ```
//! use filterbench_model::stats::Interval;
//! let rounds = [12.0, 14.0, 11.0, 13.0, 12.5, 13.5];
//! let i = Interval::of_median(&rounds).unwrap();
//! assert!(i.low <= i.median && i.median <= i.high);
//! ```

use serde::{Deserialize, Serialize};

/// Bootstrap resamples behind one interval.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// A median and its 95% confidence interval (a ratio, or nanoseconds where the field says so):
/// the one interval type of filterbench, computed here ([`Interval::of_median`]) for the load
/// rounds and by the in-process paired measurement for its rounds. In result files the bounds
/// are `ci_low` and `ci_high`; `n` is absent from files written before it was recorded (0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub median: f64,
    /// 2.5th percentile of the bootstrap medians.
    #[serde(rename = "ci_low")]
    pub low: f64,
    /// 97.5th percentile of the bootstrap medians.
    #[serde(rename = "ci_high")]
    pub high: f64,
    /// Rounds it rests on.
    #[serde(default)]
    pub n: usize,
}

impl Interval {
    /// The median of `values` and its bootstrap interval; `None` for no values (or any NaN).
    pub fn of_median(values: &[f64]) -> Option<Interval> {
        Interval::of_median_seeded(values, seed_of(values.len() as u64))
    }

    fn of_median_seeded(values: &[f64], seed: u64) -> Option<Interval> {
        if values.is_empty() || values.iter().any(|v| v.is_nan()) {
            return None;
        }
        let median = median(values);
        if values.len() == 1 {
            return Some(Interval {
                median,
                low: median,
                high: median,
                n: 1,
            });
        }
        let mut rng = SplitMix::new(seed);
        let mut sample = vec![0.0; values.len()];
        let mut medians = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
        for _ in 0..BOOTSTRAP_RESAMPLES {
            for s in sample.iter_mut() {
                *s = values[rng.below(values.len())];
            }
            medians.push(median_in_place(&mut sample));
        }
        medians.sort_by(f64::total_cmp);
        Some(Interval {
            median,
            low: percentile_sorted(&medians, 0.025),
            high: percentile_sorted(&medians, 0.975),
            n: values.len(),
        })
    }

    /// Half the interval's width.
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }

    /// The whole interval lies at or above `x`.
    pub fn above(&self, x: f64) -> bool {
        self.low >= x
    }

    /// The whole interval lies at or below `x`.
    pub fn below(&self, x: f64) -> bool {
        self.high <= x
    }

    /// Whether the whole interval lies strictly below `x` (`Some(true)`), strictly above it
    /// (`Some(false)`), or contains it (`None`).
    pub fn side_of(&self, x: f64) -> Option<bool> {
        if self.high < x {
            Some(true)
        } else if self.low > x {
            Some(false)
        } else {
            None
        }
    }

    /// `12.3 [10.1, 14.0]` with `digits` decimals.
    pub fn words(&self, digits: usize) -> String {
        format!(
            "{:.d$} [{:.d$}, {:.d$}]",
            self.median,
            self.low,
            self.high,
            d = digits
        )
    }

    /// Signed form: `+12.3 [+10.1, +14.0]`.
    pub fn signed(&self, digits: usize) -> String {
        format!(
            "{:+.d$} [{:+.d$}, {:+.d$}]",
            self.median,
            self.low,
            self.high,
            d = digits
        )
    }
}

/// The ratio of the median of `num` to the median of `den`, two **independent** sets of rounds
/// (two runs, nothing to pair between them), with its 95% percentile bootstrap interval: each
/// of [`BOOTSTRAP_RESAMPLES`] resamples draws both sets with replacement, on their own, and takes
/// the ratio of their medians. Fixed seeds, like [`Interval::of_median`]. `None` for an empty
/// set, a NaN, or a denominator whose median is not above zero; a resample whose denominator's
/// median is not above zero counts as an unbounded ratio (so a denominator that is often not
/// above zero leaves an unbounded upper end, [`f64::INFINITY`]). `n` is the smaller set's size.
pub fn ratio_of_medians(num: &[f64], den: &[f64]) -> Option<Interval> {
    if num.is_empty() || den.is_empty() || num.iter().chain(den).any(|v| v.is_nan()) {
        return None;
    }
    let d = median(den);
    if d <= 0.0 {
        return None;
    }
    let ratio = |n: f64, d: f64| if d > 0.0 { n / d } else { f64::MAX };
    let mut rng = SplitMix::new(seed_of(
        ((num.len() as u64) << 32) ^ den.len() as u64 ^ 0x5A7E,
    ));
    let mut a = vec![0.0; num.len()];
    let mut b = vec![0.0; den.len()];
    let mut ratios = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for s in a.iter_mut() {
            *s = num[rng.below(num.len())];
        }
        for s in b.iter_mut() {
            *s = den[rng.below(den.len())];
        }
        ratios.push(ratio(median_in_place(&mut a), median_in_place(&mut b)));
    }
    ratios.sort_by(f64::total_cmp);
    let bound = |r: f64| {
        if r >= f64::MAX / 2.0 {
            f64::INFINITY
        } else {
            r
        }
    };
    Some(Interval {
        median: median(num) / d,
        low: bound(percentile_sorted(&ratios, 0.025)),
        high: bound(percentile_sorted(&ratios, 0.975)),
        n: num.len().min(den.len()),
    })
}

/// Paired differences `a[i] - b[i]` (same round); `None` where either side is missing.
pub fn paired(a: &[Option<f64>], b: &[Option<f64>]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter_map(|(a, b)| Some((*a)? - (*b)?))
        .collect()
}

/// The median; 0 for no values.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    median_in_place(&mut v)
}

fn median_in_place(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

fn seed_of(x: u64) -> u64 {
    0x5EED_F11E_B00C_0000 ^ x.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Index lists that resample `n` rounds with replacement, `count` of them, from a fixed seed:
/// the verdict's confidence re-runs the tree on each.
pub fn resamples(n: usize, count: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = SplitMix::new(seed_of(seed ^ 0xC0_FF1D));
    (0..count)
        .map(|_| (0..n).map(|_| rng.below(n.max(1))).collect())
        .collect()
}

/// SplitMix64: small, fast, and the same numbers on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_values_give_the_same_interval() {
        let v = [5.0, 7.0, 6.0, 9.0, 4.0, 6.5, 7.5];
        assert_eq!(Interval::of_median(&v), Interval::of_median(&v));
    }

    #[test]
    fn the_interval_holds_the_median_and_narrows_with_agreement() {
        let wide = Interval::of_median(&[1.0, 20.0, 5.0, 14.0, 9.0, 3.0, 17.0, 11.0]).unwrap();
        let narrow = Interval::of_median(&[10.0, 10.5, 9.8, 10.2, 10.1, 9.9, 10.3, 10.0]).unwrap();
        assert!(wide.low <= wide.median && wide.median <= wide.high);
        assert!(
            narrow.half_width() < wide.half_width() / 5.0,
            "{narrow:?} {wide:?}"
        );
        assert!(narrow.above(9.8) && narrow.below(10.5), "{narrow:?}");
    }

    #[test]
    fn one_value_is_its_own_interval_and_none_is_none() {
        let one = Interval::of_median(&[3.0]).unwrap();
        assert_eq!((one.low, one.median, one.high, one.n), (3.0, 3.0, 3.0, 1));
        assert_eq!(Interval::of_median(&[]), None);
        assert_eq!(Interval::of_median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn a_ratio_of_medians_holds_its_median_and_repeats() {
        let num = [4.0, 5.0, 6.0, 5.5, 4.5, 5.0];
        let den = [10.0, 9.0, 11.0, 10.5, 9.5, 10.0];
        let r = ratio_of_medians(&num, &den).unwrap();
        assert_eq!(r.median, 0.5);
        assert!(r.low < 0.5 && 0.5 < r.high, "{r:?}");
        assert!(r.low > 0.35 && r.high < 0.7, "{r:?}");
        assert_eq!(r.n, 6);
        assert_eq!(Some(r), ratio_of_medians(&num, &den));
        // A denominator around zero: no ratio, or an unbounded upper end.
        assert_eq!(ratio_of_medians(&num, &[-1.0, 0.0, -0.5]), None);
        let wild = ratio_of_medians(&num, &[-1.0, 2.0, 0.1, -0.2, 3.0]).unwrap();
        assert!(wild.high.is_infinite(), "{wild:?}");
        assert_eq!(ratio_of_medians(&[], &den), None);
    }

    #[test]
    fn pairs_skip_missing_sides() {
        let d = paired(&[Some(5.0), None, Some(7.0)], &[Some(1.0), Some(2.0), None]);
        assert_eq!(d, vec![4.0]);
    }

    #[test]
    fn resamples_stay_in_range_and_repeat() {
        let a = resamples(7, 50, 1);
        assert_eq!(a, resamples(7, 50, 1));
        assert!(a.iter().all(|r| r.len() == 7 && r.iter().all(|&i| i < 7)));
        assert_ne!(a, resamples(7, 50, 2));
    }
}
