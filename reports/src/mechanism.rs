//! How much of a filter's cost is the mechanism that runs it: the pass-through run
//! (`load/passthrough.json`, a Lua filter, a Rust Wasm filter and a native module that each do
//! nothing, measured like a pair) gives what merely having each kind of filter adds over the
//! baseline Envoy; a pair's run gives what its Lua filter and each twin add. The mechanism's
//! share of the pair's cost of one kind is
//!
//! ```text
//! share = (pass-through of that kind − baseline) ÷ (the pair's filter of that kind − baseline)
//! ```
//!
//! each side the median of its per-round paired differences, the interval a percentile
//! bootstrap over both runs' rounds resampled independently
//! ([`filterbench_model::stats::ratio_of_medians`]). A share is only taken when both sides are
//! measurably above zero (their whole intervals above it); otherwise it is said which side is
//! not ([`Share`]).

use filterbench_model::results::{LoadRun, Variant};
use filterbench_model::stats::{ratio_of_medians, Interval};
use filterbench_model::TwinKind;

use crate::decision::{PairedDifference, Triple};
use crate::evidence::paired_rounds;

/// The mechanisms the pass-through run measures, in the order they are shown: Lua, the Rust
/// Wasm filter, the native module (there is no Go Wasm pass-through).
pub const MECHANISMS: [Variant; 3] = [Variant::Lua, Variant::WASM, Variant::Twin(TwinKind::Native)];

/// For people: `Lua`, `Rust Wasm`, `native module`.
pub fn label(v: Variant) -> &'static str {
    match v {
        Variant::Base => "baseline",
        Variant::Lua => "Lua",
        Variant::Twin(k) => k.label(),
    }
}

/// The per-round Envoy CPU per request that variant `v` of `run` adds over the baseline of the
/// same round, microseconds (empty when the run has no paired rounds or no sample of `v`).
pub fn over_baseline(run: &LoadRun, v: Variant) -> Vec<f64> {
    let difference = match v {
        Variant::Base => return Vec::new(),
        Variant::Lua => PairedDifference::LuaOverBase,
        Variant::Twin(k) => PairedDifference::TwinOverBase(k),
    };
    paired_rounds(run).map_or_else(Vec::new, |r| {
        let rounds: &[Triple] = &r.cpu_us;
        difference.per_round(rounds)
    })
}

/// What variant `v` adds over the baseline in `run`: the median of the per-round differences
/// with its interval; `None` when not measured.
pub fn cost(run: &LoadRun, v: Variant) -> Option<Interval> {
    Interval::of_median(&over_baseline(run, v))
}

/// The mechanism's share of a pair's cost of one kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Share {
    /// The pair's run or the pass-through run has no sample of this kind.
    NotMeasured,
    /// The pair's filter of this kind adds nothing measurable over the baseline (its interval
    /// reaches zero): there is no cost to take a share of.
    NoMeasurableCost,
    /// The pass-through of this kind adds nothing measurable over the baseline: no measurable
    /// part of the pair's cost is the mechanism.
    NoMeasurableMechanism,
    /// The share as a ratio (1 = all of it) with its interval; the upper end is infinite when
    /// the pair's cost comes near zero in too many resamples to bound it.
    Of(Interval),
}

impl Share {
    /// The share of `pair`'s cost of kind `v` that the pass-through of that kind accounts for.
    pub fn of(passthrough: &LoadRun, pair: &LoadRun, v: Variant) -> Share {
        let mechanism = over_baseline(passthrough, v);
        let filter = over_baseline(pair, v);
        let (Some(m), Some(f)) = (
            Interval::of_median(&mechanism),
            Interval::of_median(&filter),
        ) else {
            return Share::NotMeasured;
        };
        if f.low <= 0.0 {
            return Share::NoMeasurableCost;
        }
        if m.low <= 0.0 {
            return Share::NoMeasurableMechanism;
        }
        ratio_of_medians(&mechanism, &filter).map_or(Share::NoMeasurableCost, Share::Of)
    }

    /// `38% [30%, 47%]`, or what is not measurable.
    pub fn words(&self) -> String {
        match self {
            Share::NotMeasured => "not measured".into(),
            Share::NoMeasurableCost => "no measurable cost over the baseline to share".into(),
            Share::NoMeasurableMechanism => "no measurable mechanism cost".into(),
            Share::Of(i) => {
                let pct = |x: f64| format!("{:.0}%", x * 100.0);
                let high = if i.high.is_finite() {
                    pct(i.high)
                } else {
                    "no upper bound".into()
                };
                format!("{} [{}, {high}]", pct(i.median), pct(i.low))
            }
        }
    }

    /// A stable id for the page's markup: `share`, `not-measured`, `no-cost`, `no-mechanism`.
    pub fn id(&self) -> &'static str {
        match self {
            Share::NotMeasured => "not-measured",
            Share::NoMeasurableCost => "no-cost",
            Share::NoMeasurableMechanism => "no-mechanism",
            Share::Of(_) => "share",
        }
    }
}

/// One pair's row: what each mechanism's filter of the pair adds over the baseline and the
/// mechanism's share of it, in [`MECHANISMS`]' order.
#[derive(Debug, Clone, PartialEq)]
pub struct PairShares {
    pub pair: String,
    pub by_mechanism: Vec<(Variant, Option<Interval>, Share)>,
}

impl PairShares {
    pub fn of(passthrough: &LoadRun, pair: &LoadRun) -> PairShares {
        PairShares {
            pair: pair.pair.clone(),
            by_mechanism: MECHANISMS
                .into_iter()
                .map(|v| (v, cost(pair, v), Share::of(passthrough, pair, v)))
                .collect(),
        }
    }
}
