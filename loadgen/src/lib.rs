//! The real-Envoy side of filterbench.
//!
//! - [`envoy`]: find (or install) Envoy 1.40, start it, wait for readiness, always reap it;
//! - [`bootstrap`]: the generated bootstrap, one listener per variant (baseline, Lua, Wasm);
//! - [`services`]: the loopback echo upstream and auth service Envoy routes to;
//! - [`client`]: one bounded HTTP/1.1 exchange;
//! - [`verify`]: replaying a pair's corpus through the Lua and Wasm listeners of a real Envoy and
//!   diffing the outcomes;
//! - [`verify_deployed`]: the same with the filters Istio deploys from the generated manifests
//!   ([`k8s`]: TrafficExtension or EnvoyFilter + WasmPlugin), compared with the verified twins;
//! - [`failure`]: what Envoy does when a Wasm filter traps (per failStrategy) or a Lua filter
//!   raises, measured.
//!
//! Everything talks to 127.0.0.1 only.

pub mod bootstrap;
pub mod cli_run;
pub mod client;
pub mod compare;
pub mod envoy;
pub mod failure;
pub mod k8s;
pub mod load;
pub mod services;
pub mod swap;
pub mod verify;
pub mod verify_deployed;

/// Errors of the real-Envoy path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] filterbench_bench::Error),
    #[error("envoy: {0}")]
    Envoy(String),
    #[error("envoy exited ({status}): {log}")]
    EnvoyExited { status: String, log: String },
    #[error("http: {0}")]
    Http(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
