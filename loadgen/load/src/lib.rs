//! filterbench's load generator and what it talks to, all over loopback HTTP/1.1 with hyper.
//!
//! - [`load`]: the generator: closed loop (C connections as fast as they go) or open loop (a
//!   constant arrival rate, latency from each request's intended send time), bounded by a
//!   duration and/or a request count, with per-second stats (`load::stats`) and an optional
//!   fine timeline (`load::intervals`);
//! - [`client`]: one bounded HTTP/1.1 exchange over a fresh connection (status, headers in
//!   arrival order, body);
//! - [`services`]: the loopback echo upstream and scripted auth service Envoy routes to.
//!
//! No Envoy, no filter host, no CLI here: `filterbench-envoy` runs Envoy and measures through
//! this crate; the `loadgen run` command line is in the `loadgen` binary.

pub mod client;
pub mod load;
pub mod services;

/// Errors of the load path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("http: {0}")]
    Http(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
