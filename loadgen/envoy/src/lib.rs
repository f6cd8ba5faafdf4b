//! The real-Envoy side of filterbench: Envoy 1.40 runs the pair's twins, loopback services answer
//! it, and the same scenarios and load go through it.
//!
//! - [`envoy`]: find (or install) Envoy 1.40, start it, wait for readiness, always reap it; its
//!   admin API;
//! - [`bootstrap`]: the generated bootstrap, one listener per variant (baseline, Lua, Wasm);
//! - [`verify`]: replaying a pair's corpus through the Lua and Wasm listeners of a real Envoy and
//!   diffing the outcomes (the walk is `filterbench_model::replay`'s);
//! - [`run`]: `filterbench run --envoy`: a user's own filter on one listener, requests in
//!   sequence, call scripts answered by the mock clusters;
//! - [`verify_deployed`]: the same with the filters Istio deploys from the generated manifests
//!   (`filterbench-k8s`: TrafficExtension or EnvoyFilter + WasmPlugin), compared with the
//!   verified twins;
//! - [`istiod`]: the real Istio control plane (Istio's discovery server from `loadgen/istiod`, no
//!   Kubernetes) on loopback, and the ADS bootstrap of a plain Envoy that is a sidecar of it;
//! - [`verify_istiod`]: the same with the real control plane: istiod serves the manifests to a
//!   sidecar Envoy per twin;
//! - [`failure`]: what Envoy does when a Wasm filter traps (per failStrategy) or a Lua filter
//!   raises, measured;
//! - [`compare`]: the paired load comparison of a pair's three variants (base, Lua, Wasm), or
//!   of base and Lua alone for a Lua-only subject, written as `reports/results/load/<pair>.json`
//!   (`compare::rounds`, private: the rotating order and when the rounds stop);
//! - [`scratch`]: the private (0700) directories Envoy's bootstrap and log live in, removed on
//!   every exit path (drop, the signal handler, and what a killed process left at the next start);
//! - [`swap`]: switching a live Envoy from Lua to Wasm and back (ECDS), measured under load.
//!
//! The load generator, the one-request client and the loopback services are
//! `filterbench-load`'s, re-exported as [`load`], [`client`] and [`services`].
//! Everything talks to 127.0.0.1 only.

pub mod bootstrap;
pub mod compare;
pub mod envoy;
pub mod failure;
pub mod istiod;
pub mod phase_order;
pub mod run;
pub mod scratch;
pub mod swap;
pub mod verify;
pub mod verify_deployed;
pub mod verify_istiod;

pub(crate) use filterbench_k8s as k8s;

/// Errors of the real-Envoy path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] filterbench_model::Error),
    #[error("envoy: {0}")]
    Envoy(String),
    #[error("envoy exited ({status}): {log}")]
    EnvoyExited { status: String, log: String },
    #[error("http: {0}")]
    Http(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<filterbench_load::Error> for Error {
    fn from(e: filterbench_load::Error) -> Self {
        match e {
            filterbench_load::Error::Http(m) => Error::Http(m),
            filterbench_load::Error::Io(e) => Error::Io(e),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
