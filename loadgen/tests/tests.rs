//! filterbench-loadgen's integration tests (the `loadgen` binary and the crates below loadgen/:
//! filterbench-envoy, filterbench-load, filterbench-k8s), one module per topic.
//!
//! - `k8s`: `loadgen k8s manifests` for every pair: the EnvoyFilter/WasmPlugin manifests validated
//!   against Istio's CRD schemas (`loadgen/istio-crds/`, or `$FILTERBENCH_ISTIO_CRDS`;
//!   the tests fail when they are missing), the validator's negative cases, the OCI image layout,
//!   and the `loadgen` binary's exit codes and messages.
//!
//! - `deployed`: in a real Envoy, every pair's manifests (TrafficExtension and legacy) translated
//!   to Envoy's filters pass the corpus like the verified twins; the failure strategies measured.
//!
//! - `istiod`: the real Istio control plane (istiod built by the project) serves add_header's
//!   TrafficExtensions to sidecar Envoys, which pass the corpus; a manifest Istio rejects stops it
//!   with Istio's message.
//!
//! - `passthrough`: the pass-through Lua, Rust Wasm and native filters (`load --pair
//!   passthrough`) load in a real Envoy and pass requests through unchanged.
//!
//! - `run`: `loadgen run --url` against a loopback echo server and a dead port.
//!
//! Run with `cargo test -p filterbench-loadgen`.

mod deployed;
mod istiod;
mod k8s;
mod passthrough;
mod run;
