//! Builds the built-in twins, one function per twin kind, where the model says they are
//! ([`artefacts`], shared with `filterbench-model` by `#[path]`):
//!
//! - [`build_rust_wasm`]: every Wasm filter (`filters-wasm/*/`) and every bench-only guest
//!   (`bench/guests/*/`: the pass-through baseline and the per-operation guest) for
//!   `wasm32-wasip1` with the workspace's `filter` profile into `<workspace>/target/filters-wasm`,
//!   the way wasmtime builds its test programs: a nested cargo with its own target directory (so
//!   it never waits on the outer build's lock). Filters and guests are two cargo invocations, so
//!   that features one side enables (e.g. serde_json's `arbitrary_precision` in some filters) do
//!   not change the other's code. Installs the `wasm32-wasip1` target with rustup when it is
//!   missing.
//!
//! - [`build_go`]: every Go twin (`filters-go/*/`, standard Go for `wasip1`) into
//!   `<workspace>/target/filters-go` (`src/go.rs`); without Go, a warning and only they are skipped.
//!
//! - [`build_native`]: every native twin (`filters-native/*/`, a Rust `cdylib` for the host that
//!   Envoy loads as a dynamic module) with the workspace's `native` profile (unwinding, so the
//!   binding catches a twin's panic) by a nested cargo with its own target directory, each library
//!   copied to `<workspace>/target/filters-native/<pair>.so`; the native pass-through
//!   (`filters-native/passthrough/`, [`artefacts::NATIVE_MEASUREMENT_CRATES`], not a pair) with
//!   them, to `passthrough.so`.
//!
//! `FILTERBENCH_SKIP_WASM_BUILD` set: nothing is built.

use std::path::{Path, PathBuf};
use std::process::Command;

// The model's statement of where built twins are (this script uses part of it).
#[allow(dead_code)]
#[path = "../model/src/artefacts.rs"]
mod artefacts;
// Shared with the crate (workspace twins built at run time, `src/wasm.rs`).
#[path = "src/toolchain.rs"]
mod toolchain;

// The Go twins' build (`filters-go/*`), shared with the crate (`src/go.rs`).
#[path = "src/go.rs"]
mod go;

use artefacts::WASM_TARGET as TARGET;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    // This crate lives in `<workspace>/bench/build`.
    let root = manifest_dir
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=FILTERBENCH_SKIP_WASM_BUILD");
    let skip = std::env::var_os("FILTERBENCH_SKIP_WASM_BUILD").is_some();
    build_rust_wasm(&root, skip);
    build_go(&root, skip);
    build_native(&root, skip);
}

/// The Rust Wasm twins and the bench guests (see the file's head); `skip`: only the
/// rerun-if-changed lines.
fn build_rust_wasm(root: &Path, skip: bool) {
    let filters = root.join("filters-wasm");
    let guests = root.join("bench").join("guests");
    let target_dir = artefacts::built_in_wasm_target_dir(root);
    println!("cargo:rerun-if-changed={}", filters.display());
    println!("cargo:rerun-if-changed={}", guests.display());

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
    if skip {
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
        build(root, &target_dir, what, crates);
    }
}

/// Builds the Go twins (`filters-go/<pair>/`) to `target/filters-go/<pair>.wasm`
/// ([`artefacts::built_in_go_dir`]). Without a usable Go toolchain only the Go twins are skipped,
/// with a warning that says what is missing; `skip`: only the rerun-if-changed lines.
fn build_go(root: &Path, skip: bool) {
    let go_dir = root.join("filters-go");
    let out = artefacts::built_in_go_dir(root);
    println!("cargo:rerun-if-env-changed=GO");
    println!("cargo:rerun-if-changed={}", go_dir.display());
    for file in walk(&go_dir) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    if skip || go::go_twins_in(&go_dir).is_empty() {
        return;
    }
    if let Err(e) = std::fs::create_dir_all(&out) {
        panic!("creating {}: {e}", out.display());
    }
    match go::build_go_twins(&go_dir, &out) {
        Ok(_) => {}
        Err(go::GoBuildError::Missing(what)) => {
            println!("cargo:warning={what}; the Go twins (filters-go/*) are not built and `--twin go` finds no module");
            // Check again on the next build, when Go may be there.
            println!("cargo:rerun-if-changed=/nonexistent/filterbench-go-probe");
        }
        Err(e) => panic!("{e}"),
    }
}

/// Builds the native twins (`filters-native/<pair>/`, every crate but the helper crates `sdk` and
/// `common`; the native pass-through `filters-native/passthrough/` among them) in one nested `cargo build --profile native -p <crate>...` for the host into
/// [`artefacts::built_in_native_target_dir`], then copies each `lib<crate>.so` to
/// `target/filters-native/<pair>.so` ([`artefacts::built_in_native_dir`]). A build that fails
/// names the pairs whose crates did not compile; `skip`: only the rerun-if-changed lines.
fn build_native(root: &Path, skip: bool) {
    let dir = root.join("filters-native");
    println!("cargo:rerun-if-changed={}", dir.display());
    for file in walk(&dir) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let twins = twins_in(&dir);
    if skip || twins.is_empty() {
        return;
    }
    let crates = native_crates(&twins);
    let target_dir = artefacts::built_in_native_target_dir(root);
    let out = artefacts::built_in_native_dir(root);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "--profile",
            artefacts::NATIVE_PROFILE,
            "--message-format=short",
            "--target-dir",
        ])
        .arg(&target_dir);
    if std::env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    for (_, name) in &crates {
        cmd.arg("-p").arg(name);
    }
    toolchain::clean_env(&mut cmd);
    let output = cmd.output().unwrap_or_else(|e| {
        panic!("could not run cargo to build the native twins (filters-native/*): {e}")
    });
    if !output.status.success() {
        native_build_failed(&crates, &String::from_utf8_lossy(&output.stderr));
    }
    let built = target_dir.join(artefacts::NATIVE_PROFILE);
    for (pair, name) in &crates {
        let library = built.join(artefacts::native_cdylib_name(name));
        let module = out.join(format!("{pair}.so"));
        // Copied to a partial file and renamed, so that a running Envoy never maps a half-written
        // library.
        let partial = out.join(format!("{pair}.so.partial"));
        if let Err(e) =
            std::fs::copy(&library, &partial).and_then(|_| std::fs::rename(&partial, &module))
        {
            panic!(
                "the native twin of {pair} built, but copying {} to {} failed: {e} (the crate must be a cdylib)",
                library.display(),
                module.display()
            );
        }
    }
}

/// Each native twin's pair (its folder) and crate name (its `[package]` name).
fn native_crates(twins: &[PathBuf]) -> Vec<(String, String)> {
    twins
        .iter()
        .map(|twin| {
            let pair = twin.file_name().unwrap().to_string_lossy().into_owned();
            let manifest = twin.join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest)
                .unwrap_or_else(|e| panic!("reading {}: {e}", manifest.display()));
            let name = toolchain::package_name(&text).unwrap_or_else(|| {
                panic!(
                    "{}: the native twin of {pair} has no `name = ` in its [package]",
                    manifest.display()
                )
            });
            (pair, name)
        })
        .collect()
}

/// A failed build of the native twins: the pairs whose crates did not compile, their errors,
/// and cargo's whole output.
fn native_build_failed(crates: &[(String, String)], stderr: &str) -> ! {
    let failed: Vec<&str> = crates
        .iter()
        .filter(|(_, name)| stderr.contains(&format!("could not compile `{name}`")))
        .map(|(pair, _)| pair.as_str())
        .collect();
    let which = if failed.is_empty() {
        "the native twins (filters-native/*)".to_string()
    } else {
        format!(
            "the native twin of {} (filters-native/{})",
            failed.join(", "),
            failed.join(", filters-native/")
        )
    };
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error") || l.contains(": error"))
        .take(20)
        .collect();
    panic!(
        "building {which} (profile `{}`, for the host) failed:\n{}\n\nfull output:\n{stderr}",
        artefacts::NATIVE_PROFILE,
        errors.join("\n")
    );
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

/// The pairs' Wasm twins: every crate of `filters-wasm/` but the shared helper crate.
fn twins_in(dir: &Path) -> Vec<PathBuf> {
    let mut crates = crates_in(dir);
    crates.retain(|p| {
        !p.file_name()
            .is_some_and(|n| artefacts::TWIN_HELPER_CRATES.iter().any(|h| n == *h))
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
