//! Building Istio's control plane: the stock `pilot-discovery` (istiod) of the `istio.io/istio`
//! module that `loadgen/istiod/go.mod` pins (a `tool` directive, so the go.mod and go.sum carry the
//! whole module graph and nothing of Istio's code is copied into the project), built with
//! `go build istio.io/istio/pilot/cmd/pilot-discovery` into `<workspace>/target/istiod/`.
//!
//! Built at run time, the first time the real control plane is asked for
//! (`filterbench verify --envoy --deployed --control-plane istiod`, and the test that runs it),
//! not by the build script: a cold build compiles about 2,500 Go packages (minutes on 2 cores),
//! which `cargo build` must not pay when nobody runs istiod. The Go caches live under
//! `target/istiod/cache` (`build`, `mod`), kept between runs with the rest of `target/`, so a
//! second build only checks that everything is up to date. `go` is found and checked as for the
//! Go twins ([`crate::go`]); without it, one error that says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::go::{check_go, go_command, run_bounded, GoBuildError};

/// The Go package built: Istio's own `pilot-discovery` main.
pub const PILOT_DISCOVERY: &str = "istio.io/istio/pilot/cmd/pilot-discovery";

/// How long the istiod build may take (a cold build with an empty module cache downloads the
/// module graph and compiles it: about 8 minutes on 2 shared cores).
pub const ISTIOD_BUILD_TIMEOUT: Duration = Duration::from_secs(1800);

/// The Go module that pins Istio (`loadgen/istiod/`, its `go.mod` and `go.sum`).
pub fn istiod_module_dir(root: &Path) -> PathBuf {
    root.join("loadgen").join("istiod")
}

/// Where the built istiod and its Go caches are: `<root>/target/istiod/`.
pub fn istiod_dir(root: &Path) -> PathBuf {
    root.join("target").join("istiod")
}

/// The built binary: `<root>/target/istiod/pilot-discovery`.
pub fn istiod_binary(root: &Path) -> PathBuf {
    istiod_dir(root).join("pilot-discovery")
}

/// The `istio.io/istio` version `go.mod` requires (a pseudo-version: Istio has no `v` tags), or
/// `None` when the file has no such line.
pub fn pinned_istio_version(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let line = line.trim().trim_start_matches("require").trim();
        let rest = line.strip_prefix("istio.io/istio ")?;
        Some(rest.split_whitespace().next()?.to_string())
    })
}

/// The commit a Go pseudo-version names (`v0.0.0-20260827124520-eed52ebb66ad` gives
/// `eed52ebb66ad`).
pub fn pseudo_version_commit(version: &str) -> Option<&str> {
    let commit = version.rsplit('-').next()?;
    (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())).then_some(commit)
}

/// The `go build` of istiod from `module_dir` with the caches under `cache_dir`, to `output`.
pub fn istiod_build_command(
    go: &Path,
    module_dir: &Path,
    cache_dir: &Path,
    output: &Path,
) -> Command {
    let mut cmd = Command::new(go);
    cmd.current_dir(module_dir)
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=readonly")
        .env("GOCACHE", cache_dir.join("build"))
        .env("GOMODCACHE", cache_dir.join("mod"))
        .args(["build", "-trimpath", "-ldflags=-s -w", "-o"])
        .arg(output)
        .arg(PILOT_DISCOVERY);
    cmd
}

/// Builds (or finds up to date) istiod for the repository at `root`: answers the binary.
/// `go build` decides what is up to date; the binary is written to a partial file and renamed, so
/// a running istiod is never replaced by half a file.
pub fn build_istiod(root: &Path) -> Result<PathBuf, GoBuildError> {
    let module_dir = istiod_module_dir(root);
    let failed = |message: String| GoBuildError::Failed {
        pair: "istiod (loadgen/istiod)".into(),
        message,
    };
    if !module_dir.join("go.mod").is_file() {
        return Err(failed(format!(
            "{} is missing: the Go module that pins Istio",
            module_dir.join("go.mod").display()
        )));
    }
    let go = go_command();
    check_go(&go).map_err(|e| match e {
        GoBuildError::Missing(m) => GoBuildError::Missing(format!(
            "{m}; istiod (the real Istio control plane, `--control-plane istiod`) is built with Go"
        )),
        other => other,
    })?;
    let dir = istiod_dir(root);
    let cache_dir = dir.join("cache");
    std::fs::create_dir_all(&cache_dir)
        .map_err(|e| failed(format!("creating {}: {e}", cache_dir.display())))?;
    let output = istiod_binary(root);
    let partial = dir.join("pilot-discovery.partial");
    let mut cmd = istiod_build_command(&go, &module_dir, &cache_dir, &partial);
    match run_bounded(&mut cmd, ISTIOD_BUILD_TIMEOUT) {
        Ok((true, _, _)) => {}
        Ok((false, _, stderr)) => {
            let _ = std::fs::remove_file(&partial);
            let lines: Vec<&str> = stderr.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            return Err(failed(format!(
                "`go build {PILOT_DISCOVERY}` failed:\n{tail}"
            )));
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(failed(e));
        }
    }
    std::fs::rename(&partial, &output)
        .map_err(|e| failed(format!("moving istiod to {}: {e}", output.display())))?;
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_version_and_its_commit_are_read_from_go_mod() {
        let go_mod =
            "module x\n\ngo 1.26.0\n\nrequire istio.io/istio v0.0.0-20260827124520-eed52ebb66ad\n";
        let v = pinned_istio_version(go_mod).unwrap();
        assert_eq!(v, "v0.0.0-20260827124520-eed52ebb66ad");
        assert_eq!(pseudo_version_commit(&v), Some("eed52ebb66ad"));
        assert_eq!(pseudo_version_commit("v1.2.3"), None);
        let block =
            "require (\n\tistio.io/istio v0.0.0-20260423205519-b01690e6db7d // indirect\n)\n";
        assert_eq!(
            pinned_istio_version(block).as_deref(),
            Some("v0.0.0-20260423205519-b01690e6db7d")
        );
    }

    #[test]
    fn the_project_pins_istio_in_its_go_module() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let go_mod = std::fs::read_to_string(istiod_module_dir(&root).join("go.mod")).unwrap();
        let v = pinned_istio_version(&go_mod).expect("go.mod requires istio.io/istio");
        assert!(pseudo_version_commit(&v).is_some(), "{v}");
        assert!(
            go_mod.contains(&format!("tool {PILOT_DISCOVERY}")),
            "{go_mod}"
        );
    }
}
