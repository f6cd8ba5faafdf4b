//! Builds every Wasm filter (`filters-wasm/*/`) and every bench-only guest (`bench/guests/*/`:
//! the pass-through baseline and the per-operation guest) for `wasm32-wasip1` with the
//! workspace's `filter` profile into `<workspace>/target/filters-wasm`, the way wasmtime builds its
//! test programs: a nested cargo with its own target directory (so it never waits on the outer
//! build's lock). Filters and guests are two cargo invocations, so that features one side enables
//! (e.g. serde_json's `arbitrary_precision` in some filters) do not change the other's code.
//! Installs the `wasm32-wasip1` target with rustup when it is missing. The module directory
//! reaches the crate as `FILTERBENCH_WASM_DIR`.

use std::path::{Path, PathBuf};
use std::process::Command;

// Shared with the crate (workspace twins built at run time, `src/twin_build.rs`).
#[path = "src/twin_build_toolchain.rs"]
mod toolchain;

use toolchain::TARGET;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    // This crate lives in `<workspace>/bench/model`.
    let root = manifest_dir
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let filters = root.join("filters-wasm");
    let guests = root.join("bench").join("guests");
    let target_dir = root.join("target").join("filters-wasm");
    let out = target_dir.join(TARGET).join("filter");
    println!("cargo:rustc-env=FILTERBENCH_WASM_DIR={}", out.display());
    // The other twin kinds' built artefacts (`<pair>.wasm` of Go twins, `<pair>.so` of native
    // twins), named here once for the crate (`filterbench_model::go_wasm_dir`, `native_dir`).
    for (var, folder) in [
        ("FILTERBENCH_GO_DIR", "filters-go"),
        ("FILTERBENCH_NATIVE_DIR", "filters-native"),
    ] {
        println!(
            "cargo:rustc-env={var}={}",
            root.join("target").join(folder).display()
        );
    }
    println!("cargo:rerun-if-changed={}", filters.display());
    println!("cargo:rerun-if-changed={}", guests.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=FILTERBENCH_SKIP_WASM_BUILD");

    let groups = [
        ("the Wasm filters (filters-wasm/*)", twins_in(&filters)),
        ("the bench guests (bench/guests/*)", crates_in(&guests)),
    ];
    for (_, crates) in &groups {
        for dir in crates {
            println!("cargo:rerun-if-changed={}", dir.display());
            println!("cargo:rerun-if-changed={}", dir.join("src").display());
            for file in walk(&dir.join("src")) {
                println!("cargo:rerun-if-changed={}", file.display());
            }
        }
    }
    if std::env::var_os("FILTERBENCH_SKIP_WASM_BUILD").is_some() {
        return;
    }
    let mut target_checked = false;
    for (what, crates) in &groups {
        if crates.is_empty() {
            continue;
        }
        if !target_checked {
            ensure_target();
            target_checked = true;
        }
        build(&root, &target_dir, what, crates);
    }
}

/// One nested `cargo build --profile filter --target wasm32-wasip1 -p ...` for `crates`.
fn build(root: &Path, target_dir: &Path, what: &str, crates: &[PathBuf]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "--profile",
            "filter",
            "--target",
            TARGET,
            "--target-dir",
        ])
        .arg(target_dir);
    if std::env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    for dir in crates {
        cmd.arg("-p").arg(dir.file_name().unwrap());
    }
    // The outer build's settings are for the host, not for the guests.
    toolchain::clean_env(&mut cmd);
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run cargo to build {what}: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error") || l.contains("-->"))
            .take(20)
            .collect();
        panic!(
            "building {what} (profile `filter`, target {TARGET}) failed:\n{}\n\nfull output:\n{stderr}",
            errors.join("\n")
        );
    }
}

/// The twins' shared helper crates (`filters-wasm/common`; `sdk` is reserved for the native
/// twins' binding): built as their dependencies, not as a pair's module (the catalogue's
/// `TWIN_HELPER_CRATES` says the same).
const TWIN_HELPER_CRATES: &[&str] = &["common", "sdk"];

/// The pairs' Wasm twins: every crate of `filters-wasm/` but the shared helper crate.
fn twins_in(dir: &Path) -> Vec<PathBuf> {
    let mut crates = crates_in(dir);
    crates.retain(|p| {
        !p.file_name()
            .is_some_and(|n| TWIN_HELPER_CRATES.iter().any(|h| n == *h))
    });
    crates
}

/// Every `<dir>/<name>/` with a Cargo.toml, sorted.
fn crates_in(dir: &Path) -> Vec<PathBuf> {
    let mut crates: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    crates.retain(|p| p.join("Cargo.toml").is_file());
    crates.sort();
    crates
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for entry in rd.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// The target, installed with rustup when missing (a build failure otherwise).
fn ensure_target() {
    if let Err(e) = toolchain::ensure_target() {
        panic!("{e}");
    }
}
