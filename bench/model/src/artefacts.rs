//! Where built twins are: the one statement of the target, the helper crates that are not a
//! pair's twin, and the directories the modules are built into. Std only: the twin-build crate's
//! build script (`bench/build/build.rs`) compiles this file too (`#[path]`), so that it builds
//! the modules where the catalogue looks for them. One function per twin kind.

use std::path::{Path, PathBuf};

/// The target every Rust Wasm twin (and bench guest) is built for.
pub const WASM_TARGET: &str = "wasm32-wasip1";

/// Crates of `filters-wasm/` and `filters-native/` that are not a pair's twin: the twins' shared
/// helper crates (`common`; `filters-native/sdk`, the native twins' binding to Envoy's
/// dynamic-module ABI), built as their dependencies.
pub const TWIN_HELPER_CRATES: &[&str] = &["common", "sdk"];

/// Crates of the built-in `filters-native/` that are the suite's own measurement, not a pair's
/// twin: `passthrough`, the native pass-through (a dynamic module that does nothing), built with
/// the native twins to `target/filters-native/passthrough.so` and measured by
/// `filterbench load --pair passthrough` beside the pass-through Lua and Wasm filters. Its name is
/// a reserved pair name (`catalogue::RESERVED_NAMES`), so no pair's library can collide with it.
pub const NATIVE_MEASUREMENT_CRATES: &[&str] = &["passthrough"];

/// The cargo profile of the native twins (the workspace's `[profile.native]`: optimised like the
/// Wasm twins, but unwinding, so that the binding catches a panic at the ABI boundary).
pub const NATIVE_PROFILE: &str = "native";

/// The target directory of the built-in Rust Wasm twins and bench guests, under the repository at
/// `root`: its own, so that the nested cargo never waits on the outer build's lock.
pub fn built_in_wasm_target_dir(root: &Path) -> PathBuf {
    root.join("target").join("filters-wasm")
}

/// Where the built-in pairs' Rust Wasm modules and the bench guests are (`<name>.wasm`): the
/// workspace's `filter` profile.
pub fn built_in_wasm_dir(root: &Path) -> PathBuf {
    built_in_wasm_target_dir(root)
        .join(WASM_TARGET)
        .join("filter")
}

/// Where a user's workspace's Rust Wasm twins are once built with `cargo build --release
/// --target wasm32-wasip1 --target-dir TARGET_DIR`.
pub fn workspace_wasm_dir(target_dir: &Path) -> PathBuf {
    target_dir.join(WASM_TARGET).join("release")
}

/// Where the built-in pairs' Go twins are (`<pair>.wasm`, standard Go for `wasip1`, built from
/// `filters-go/<pair>/` by `filterbench-build`).
pub fn built_in_go_dir(root: &Path) -> PathBuf {
    root.join("target").join("filters-go")
}

/// The target directory of the nested cargo that builds the built-in native twins (its own, so
/// that it never waits on the outer build's lock; the libraries are copied out of it).
pub fn built_in_native_target_dir(root: &Path) -> PathBuf {
    built_in_native_dir(root).join("build")
}

/// Where the built-in pairs' native twins are (`<pair>.so`, Envoy dynamic modules for the host,
/// built from `filters-native/<pair>/` by `filterbench-build`).
pub fn built_in_native_dir(root: &Path) -> PathBuf {
    root.join("target").join("filters-native")
}

/// The file cargo writes for the cdylib crate `name` in `<target_dir>/<profile>/`:
/// `lib<name>.so` (the crate name's dashes as underscores).
pub fn native_cdylib_name(name: &str) -> String {
    format!("lib{}.so", name.replace('-', "_"))
}
