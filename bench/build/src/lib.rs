//! Builds the twins, one module per twin kind. The built-in pairs' twins and the bench guests are
//! built by this crate's build script (so every crate that loads them depends on this one); a
//! user's workspace's twin crates are built at run time by [`build_twins`]. Where the artefacts
//! go is the model's ([`filterbench_model::artefacts`]).
//!
//! - [`wasm`]: Rust proxy-wasm twins (`filters-wasm/<pair>/`), `cargo build --target
//!   wasm32-wasip1`;
//! - [`go`]: Go proxy-wasm twins (`filters-go/<pair>/`), `go build` for `wasip1`;
//! - [`native`]: a workspace's native twin crates (`filters-native/<pair>/`), `cargo build
//!   --release` for the host (the built-in ones: the build script);
//! - [`istiod`]: Istio's control plane (`pilot-discovery`) from the module `loadgen/istiod/`
//!   pins, built at run time into `target/istiod/` for `--control-plane istiod`;
//! - [`toolchain`]: the Rust toolchain for them (the target installed with rustup, the
//!   environment a nested cargo must not inherit), shared with the build script.

pub mod go;
pub mod istiod;
pub mod native;
pub mod toolchain;
pub mod wasm;

// `toolchain` (also compiled into the build script) names the model's artefacts as `super::artefacts`.
use filterbench_model::artefacts;
use filterbench_model::{Catalogue, Error, Pair, Result, Twin, TwinKind};

/// In a workspace: builds the twins of `pairs` that are sources (not prebuilt artefacts) into
/// `<workspace>/target`: the Rust Wasm crates ([`wasm::build_crate`]), the Go twins
/// (`filters-go/<pair>/`, [`go::build_go_twin`], to `target/filters-go/<pair>.wasm`, the Go
/// caches in `target/filters-go/cache`) and the native crates ([`native::build_crate`], to
/// `target/filters-native/<pair>.so`); cargo and go decide what is up to date. Without a usable
/// Go toolchain the Go twins alone are skipped, said on stderr with what is missing (a command
/// that then needs one of them fails naming the missing module). The built-in pairs are built by
/// the build script: nothing to do.
pub fn build_twins(catalogue: &Catalogue, pairs: &[&Pair]) -> Result<()> {
    if !catalogue.layout.workspace {
        return Ok(());
    }
    let target = catalogue.root.join("target");
    let source = |pair: &Pair, kind: TwinKind| match catalogue.twin(&pair.name, kind) {
        Some(Twin {
            source: Some(source),
            ..
        }) => Some(source),
        _ => None,
    };
    for pair in pairs {
        if let Some(crate_dir) = source(pair, TwinKind::Wasm) {
            wasm::build_crate(&crate_dir, &target)?;
        }
    }
    let go_pairs: Vec<&str> = pairs
        .iter()
        .filter(|p| source(p, TwinKind::GoWasm).is_some())
        .map(|p| p.name.as_str())
        .collect();
    if !go_pairs.is_empty() {
        build_go(catalogue, &go_pairs)?;
    }
    for pair in pairs {
        if let Some(crate_dir) = source(pair, TwinKind::Native) {
            native::build_crate(
                &crate_dir,
                &target,
                catalogue.layout.artefact_dir(TwinKind::Native),
            )?;
        }
    }
    Ok(())
}

/// Builds a workspace's Go twins of `pairs`; without Go, says what is missing and which twins
/// are skipped.
fn build_go(catalogue: &Catalogue, pairs: &[&str]) -> Result<()> {
    let module_dir = catalogue.layout.source_dir(TwinKind::GoWasm);
    let out_dir = catalogue.layout.artefact_dir(TwinKind::GoWasm);
    let go_cmd = go::go_command();
    if let Err(missing) = go::check_go(&go_cmd) {
        eprintln!(
            "skipping the Go twins of {} (not built): {missing}",
            pairs.join(", ")
        );
        // A module built before stands for its sources only while it is newer than them; an
        // older one is removed, so that no command runs a twin its sources no longer say.
        for pair in pairs {
            let module = out_dir.join(TwinKind::GoWasm.artefact_name(pair));
            let Some(built) = modified(&module) else {
                continue;
            };
            let sources = [module_dir.join(pair), module_dir.join("proxywasm")];
            let newest = sources
                .iter()
                .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
                .map(|e| e.path())
                .chain(std::iter::once(module_dir.join("go.mod")))
                .filter_map(|p| modified(&p))
                .max();
            if newest.is_some_and(|newest| newest > built) {
                std::fs::remove_file(&module).map_err(|source| Error::Io {
                    path: module.clone(),
                    source,
                })?;
                eprintln!(
                    "  removed {}: older than its sources, and Go is needed to rebuild it",
                    module.display()
                );
            } else {
                eprintln!(
                    "  the Go twin of {pair}: using {} (built before, newer than its sources)",
                    module.display()
                );
            }
        }
        return Ok(());
    }
    for pair in pairs {
        let started = std::time::Instant::now();
        eprintln!("building the Go twin {pair} (go build for wasip1) ...");
        let output = out_dir.join(TwinKind::GoWasm.artefact_name(pair));
        go::build_go_twin(&go_cmd, module_dir, &out_dir.join("cache"), out_dir, pair).map_err(
            |e| {
                let message = match e {
                    go::GoBuildError::Failed { message, .. } => go::first_go_error(&message),
                    go::GoBuildError::Missing(message) => message,
                };
                Error::invalid(
                    module_dir.join(pair).join("main.go"),
                    format!(
                        "the Go twin of {pair:?} does not build: {message} (the command: {})",
                        go::go_build_shown(&go_cmd, module_dir, pair, &output)
                    ),
                )
            },
        )?;
        if started.elapsed().as_secs_f64() >= 1.0 {
            eprintln!(
                "built the Go twin {pair} in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// A file's modification time, when it has one.
fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
