//! The soak (`filterbench load --soak SECS`): does a filter's Envoy keep growing? Every variant
//! of the subject (baseline, Lua, each twin) runs as its own Envoy at one worker, all driven at
//! the same moderate open-loop rate for SECS seconds (loopback, bounded in time), and each
//! Envoy's RSS and allocator figures are sampled after every chunk of the run. Growth is the RSS
//! gained per request after the warm-up, in KiB per 100k requests, with a bootstrap interval over
//! the chunks ([`growth_kib_per_100k`]): "no measurable growth" when the interval holds zero. This is the question TinyGo's leaking conservative GC taught Go-Wasm users to
//! ask; it is asked of every kind here.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

pub use filterbench_model::results::{growth_kib_per_100k, growth_words};
use filterbench_model::results::{SoakPoint, SoakRun, Variant, SOAK_SCHEMA};

use super::{memory_of, placement, simultaneous_rate, start_envoys, Running, Subject, Window};
use crate::verify::Rig;
use crate::{Error, Result};
use filterbench_load::load::Mode;

/// How a soak runs.
#[derive(Debug, Clone)]
pub struct SoakPlan {
    /// The whole open-loop run, seconds (bounded: at most an hour).
    pub secs: f64,
    /// Seconds between two memory samples.
    pub chunk_secs: f64,
    /// The share of the core all variants together may use (the simultaneous-round rule).
    pub rate_fraction: f64,
    pub connections: usize,
}

impl SoakPlan {
    pub fn new(secs: f64) -> SoakPlan {
        SoakPlan {
            secs,
            chunk_secs: (secs / 30.0).clamp(1.0, 20.0),
            rate_fraction: 0.3,
            connections: 8,
        }
    }
}

/// Runs the soak of `subject`; Ctrl-C (`stop`) ends it early with what was sampled.
pub fn soak(
    rig: &Rig,
    subject: &Subject,
    plan: &SoakPlan,
    envoy_version: &str,
    stop: Arc<AtomicBool>,
    on_progress: &mut dyn FnMut(&str),
) -> Result<SoakRun> {
    if !(plan.secs.is_finite() && plan.secs > 0.0 && plan.secs <= 3600.0) {
        return Err(Error::Envoy(format!(
            "{}: a soak runs between 0 and 3600 s, not {}",
            subject.name, plan.secs
        )));
    }
    rig.auth.clear();
    for (token, reply) in &subject.auth {
        rig.auth.script(token, reply.clone());
    }
    let machine = placement();
    let listeners = subject.listeners();
    let window = Window::new(rig, &subject.mix, plan.connections, &stop, &machine);
    let mut running = start_envoys(rig, &subject.name, &listeners, 1, &machine)?;
    let variants: Vec<Variant> = running.iter().map(|r| r.variant).collect();
    let rate = soak_rate(&window, &mut running, plan, &subject.name)?;
    let mut run = SoakRun {
        schema_version: SOAK_SCHEMA,
        pair: subject.name.clone(),
        envoy_version: envoy_version.to_string(),
        started_ms: filterbench_model::now_ms(),
        rate_rps: rate,
        secs: plan.secs,
        variants: variants.clone(),
        points: Vec::new(),
        partial: false,
    };
    let mut requests = vec![0u64; running.len()];
    sample_memory(&running, &mut run, &requests, 0.0);
    let started = Instant::now();
    let mut chunk = 0;
    while started.elapsed().as_secs_f64() + plan.chunk_secs * 0.5 < plan.secs {
        let (samples, interrupted) =
            window.simultaneous(&mut running, rate, plan.chunk_secs, chunk)?;
        for s in &samples {
            if let Some(i) = running.iter().position(|r| r.variant == s.variant) {
                requests[i] += s.responses;
            }
        }
        let t = started.elapsed().as_secs_f64();
        sample_memory(&running, &mut run, &requests, t);
        chunk += 1;
        on_progress(&format!(
            "soak {t:.0}/{:.0} s at {rate:.0} req/s each: RSS MiB {}",
            plan.secs,
            run.points[run.points.len() - running.len()..]
                .iter()
                .map(|p| format!("{} {:.1}", p.variant.id(), p.rss_bytes as f64 / 1048576.0))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if interrupted {
            run.partial = true;
            break;
        }
    }
    Ok(run)
}

/// The soak's rate: the simultaneous-round rule on one closed-loop second per variant.
fn soak_rate(window: &Window, running: &mut [Running], plan: &SoakPlan, name: &str) -> Result<f64> {
    let mut capacity = Vec::new();
    for (slot, r) in running.iter_mut().enumerate() {
        window.load(r.addr, Mode::Closed, 0.5)?;
        let (s, _) = window.sample(r, Mode::Closed, 1.0, 0, slot)?;
        capacity.push(s);
    }
    let variants: Vec<Variant> = running.iter().map(|r| r.variant).collect();
    simultaneous_rate(&capacity, &variants, plan.rate_fraction, window.envoy_cpus).ok_or_else(
        || {
            Error::Envoy(format!(
                "{name}: no CPU per request measured for every variant"
            ))
        },
    )
}

/// Each Envoy's memory now, after the requests it has served, `t` seconds into the soak.
fn sample_memory(running: &[Running], run: &mut SoakRun, requests: &[u64], t: f64) {
    for (r, n) in running.iter().zip(requests) {
        let m = memory_of(r.variant, &r.envoy);
        run.points.push(SoakPoint {
            variant: r.variant,
            elapsed_secs: t,
            requests: *n,
            rss_bytes: m.rss_bytes,
            allocated_bytes: m.allocated_bytes,
        });
    }
}
