//! Building a user's workspace's Rust Wasm twin crates at run time ([`build_crate`]; the built-in
//! pairs are built by the build script, which shares [`crate::toolchain`]): `cargo build
//! --release --target wasm32-wasip1` of the crate (its own `[workspace]`, its own
//! `[profile.release]`) into `<workspace>/target`, cargo deciding what is up to date. The
//! target is installed with rustup when it is missing. A crate that does not build is one error
//! naming its `Cargo.toml` and showing the compiler's first error.

use std::path::{Path, PathBuf};
use std::process::Command;

use filterbench_model::artefacts::{workspace_wasm_dir, WASM_TARGET as TARGET};
use filterbench_model::{Error, Result};

use crate::toolchain::{clean_env, ensure_target};

/// Builds the twin crate at `crate_dir` (release, `wasm32-wasip1`) into `target_dir`; the
/// module is `<workspace_wasm_dir>/<crate name>.wasm`, and the crate's name must be its directory's
/// (the pair's) name.
pub fn build_crate(crate_dir: &Path, target_dir: &Path) -> Result<PathBuf> {
    let manifest = crate_dir.join("Cargo.toml");
    let name = crate_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    ensure_target().map_err(|e| Error::invalid(&manifest, e))?;
    build_twin_crate(&manifest, target_dir, Some(TARGET), "Wasm", &name)?;
    let module = workspace_wasm_dir(target_dir).join(format!("{name}.wasm"));
    if !module.is_file() {
        return Err(Error::invalid(
            &manifest,
            format!(
                "built, but {} is missing: the crate must be a cdylib whose name is the pair's ({name:?})",
                module.display()
            ),
        ));
    }
    Ok(module)
}

/// `cargo build --release` of the twin crate `manifest` (the `kind` twin of pair `pair`: `Wasm`,
/// `native`) into `target_dir`, for `target` or the host: a build that takes a while is said,
/// not silent (cargo decides what is up to date), and one that fails is one error naming the
/// crate's `Cargo.toml` with the compiler's first error and the command that shows the rest.
pub(crate) fn build_twin_crate(
    manifest: &Path,
    target_dir: &Path,
    target: Option<&str>,
    kind: &str,
    pair: &str,
) -> Result<()> {
    let target_flag = target.map(|t| format!(" --target {t}")).unwrap_or_default();
    let started = std::time::Instant::now();
    eprintln!("building the {kind} twin {pair} (cargo build --release{target_flag}) ...");
    let output = cargo_build_retrying(manifest, target_dir, target)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::invalid(
            manifest,
            format!(
                "the {kind} twin of {pair:?} does not build{}: {} (the whole output: \
                 cargo build --release{target_flag} --manifest-path {} --target-dir {})",
                target.map(|t| format!(" for {t}")).unwrap_or_default(),
                first_error(&stderr),
                manifest.display(),
                target_dir.display()
            ),
        ));
    }
    if started.elapsed().as_secs_f64() >= 1.0 {
        eprintln!(
            "built the {kind} twin {pair} in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `cargo build --release` of `manifest` into `target_dir` (for `target`, or the host), retried
/// `--offline` when the registry cannot be reached (the crates may all be in cargo's cache).
fn cargo_build_retrying(
    manifest: &Path,
    target_dir: &Path,
    target: Option<&str>,
) -> Result<std::process::Output> {
    let output = cargo_build(manifest, target_dir, target, false)?;
    if !output.status.success() && needs_network(&output.stderr) {
        return cargo_build(manifest, target_dir, target, true);
    }
    Ok(output)
}

fn cargo_build(
    manifest: &Path,
    target_dir: &Path,
    target: Option<&str>,
    offline: bool,
) -> Result<std::process::Output> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "--release", "--message-format=short"]);
    if let Some(target) = target {
        cmd.arg("--target").arg(target);
    }
    cmd.arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    if offline {
        cmd.arg("--offline");
    }
    clean_env(&mut cmd);
    filterbench_model::child::die_with_parent(&mut cmd);
    cmd.output().map_err(|source| Error::Io {
        path: PathBuf::from("cargo"),
        source,
    })
}

/// Cargo could not reach the registry (no network): worth a retry with `--offline`.
fn needs_network(stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr);
    [
        "failed to query replaced source",
        "Unable to update registry",
        "failed to get `",
        "failed to download",
        "failed to fetch",
        "Could not resolve host",
        "network failure",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// The compiler's (or cargo's) first error in `--message-format=short` output, one line; the
/// whole output, shortened, when there is no line that looks like an error.
pub fn first_error(stderr: &str) -> String {
    let is_error = |l: &str| {
        let l = l.trim_start();
        (l.starts_with("error") || l.contains(": error"))
            && !l.starts_with("error: could not compile")
            && !l.starts_with("error: aborting")
    };
    match stderr.lines().find(|l| is_error(l)) {
        Some(line) => {
            // `error: ...` from cargo is often followed by the reason on indented lines.
            let mut text = line.trim().to_string();
            if text.starts_with("error:") {
                let rest: Vec<&str> = stderr
                    .lines()
                    .skip_while(|l| *l != line)
                    .skip(1)
                    .take_while(|l| !is_error(l) && !l.trim_start().starts_with("warning"))
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && *l != "Caused by:")
                    .take(3)
                    .collect();
                if !rest.is_empty() {
                    text.push_str(" | ");
                    text.push_str(&rest.join(" | "));
                }
            }
            text
        }
        None => {
            let all = filterbench_model::one_line(stderr);
            all.chars().take(400).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::first_error;

    #[test]
    fn first_error_is_the_compilers_first() {
        let out = "   Compiling x v0.1.0 (/w/filters-wasm/x)\n\
                   src/lib.rs:3:5: error[E0425]: cannot find value `y` in this scope\n\
                   src/lib.rs:9:1: error: expected item, found `}`\n\
                   error: could not compile `x` (lib) due to 2 previous errors\n";
        assert_eq!(
            first_error(out),
            "src/lib.rs:3:5: error[E0425]: cannot find value `y` in this scope"
        );
    }

    #[test]
    fn cargo_errors_keep_their_reason() {
        let out = "error: failed to parse manifest at `/w/Cargo.toml`\n\nCaused by:\n  bad\n";
        assert_eq!(
            first_error(out),
            "error: failed to parse manifest at `/w/Cargo.toml` | bad"
        );
    }
}
