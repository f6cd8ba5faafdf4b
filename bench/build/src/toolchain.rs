//! The toolchain for building Rust Wasm twins, shared by the build script (`bench/build/build.rs`
//! includes this file with `#[path]`) and by [`crate::wasm`] (workspace twins built at run
//! time): std and the model's [`artefacts`](super::artefacts) only.

use std::path::Path;
use std::process::Command;

use super::artefacts::WASM_TARGET as TARGET;

/// `rustup target add wasm32-wasip1` when the standard library for it is not installed; the
/// error says what to do.
pub fn ensure_target() -> Result<(), String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(sysroot) = sysroot {
        if Path::new(&sysroot)
            .join("lib/rustlib")
            .join(TARGET)
            .join("lib")
            .is_dir()
        {
            return Ok(());
        }
    }
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!(
            "`rustup target add {TARGET}` failed ({s}); install the target to build the Wasm filters"
        )),
        Err(e) => Err(format!(
            "the {TARGET} target is missing and rustup could not be run ({e}); install it with `rustup target add {TARGET}`"
        )),
    }
}

/// Removes the settings of an outer cargo run (flags, target dir, profile, jobserver) that are
/// for the host, not for the Wasm guests, from a nested cargo command.
pub fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_ENCODED_RUSTFLAGS")
            || key == "RUSTFLAGS"
            || key == "CARGO_TARGET_DIR"
            || key == "CARGO_BUILD_TARGET"
            || key.starts_with("CARGO_PROFILE_")
            || key == "CARGO_MAKEFLAGS"
            || key == "MAKEFLAGS"
            || key == "MFLAGS"
            || key == "CARGO_LLVM_COV"
        {
            cmd.env_remove(key.as_ref());
        }
    }
}

/// The `name = "..."` of a Cargo.toml's `[package]` table (std only: a line scan; the build
/// script's built-in native twins and a workspace's alike).
pub fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package {
            if let Some(value) = line.strip_prefix("name") {
                let value = value.trim_start().strip_prefix('=')?.trim();
                return Some(value.trim_matches('"').to_string());
            }
        }
    }
    None
}
