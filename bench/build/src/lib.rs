//! Builds the twins, one module per twin kind. The built-in pairs' twins and the bench guests are
//! built by this crate's build script (so every crate that loads them depends on this one); a
//! user's workspace's twin crates are built at run time by [`build_twins`]. Where the artefacts
//! go is the model's ([`filterbench_model::artefacts`]).
//!
//! - [`wasm`]: Rust proxy-wasm twins (`filters-wasm/<pair>/`), `cargo build --target
//!   wasm32-wasip1`;
//! - [`go`]: Go proxy-wasm twins (`filters-go/<pair>/`), `go build` for `wasip1`;
//! - [`istiod`]: Istio's control plane (`pilot-discovery`) from the module `loadgen/istiod/`
//!   pins, built at run time into `target/istiod/` for `--control-plane istiod`;
//! - [`toolchain`]: the Rust toolchain for them (the target installed with rustup, the
//!   environment a nested cargo must not inherit), shared with the build script.

pub mod go;
pub mod istiod;
pub mod toolchain;
pub mod wasm;

// `toolchain` (also compiled into the build script) names the model's artefacts as `super::artefacts`.
use filterbench_model::artefacts;
use filterbench_model::{Catalogue, Pair, Result, Twin, TwinKind};

/// In a workspace: builds the twins of `pairs` that are crates (not prebuilt modules) into
/// `<workspace>/target` (cargo decides what is up to date). The built-in pairs are built by the
/// build script: nothing to do.
pub fn build_twins(catalogue: &Catalogue, pairs: &[&Pair]) -> Result<()> {
    if !catalogue.layout.workspace {
        return Ok(());
    }
    let target = catalogue.root.join("target");
    for pair in pairs {
        // A Rust Wasm twin crate (not a prebuilt module); a pair may have twins of other kinds
        // only (prebuilt ones: a workspace's Go and native twin sources are not built here).
        if let Some(Twin {
            source: Some(source),
            ..
        }) = catalogue.twin(&pair.name, TwinKind::Wasm)
        {
            wasm::build_crate(&source, &target)?;
        }
    }
    Ok(())
}
