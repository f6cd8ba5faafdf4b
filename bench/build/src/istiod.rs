//! Building Istio's control plane: `loadgen/istiod/` (a small Go program around the
//! `istio.io/istio` packages its `go.mod` pins: Istio's discovery server without Kubernetes;
//! nothing of Istio's code is copied into the project), built with `go build` into
//! `<workspace>/target/istiod/istiod`, stamped with Istio's version and commit as Istio's own
//! build stamps its binaries.
//!
//! Built at run time, the first time the real control plane is asked for
//! (`filterbench verify --envoy --deployed --control-plane istiod`, and the test that runs it),
//! not by the build script: a cold build compiles about 1,750 Go packages (18 CPU-minutes),
//! which `cargo build` must not pay when nobody runs istiod. The build uses Go's own per-user
//! caches (module downloads and compiled packages), kept between runs and between clones, so a
//! second build, also from a fresh clone, only checks that everything is up to date. `go` is found and checked as for the
//! Go twins ([`crate::go`]); without it, one error that says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::go::{check_go, go_command, run_bounded, GoBuildError};

/// The Go package built: the program in `loadgen/istiod/`.
pub const ISTIOD_PACKAGE: &str = ".";

/// How long the istiod build may take (a cold build with an empty module cache downloads the
/// module graph and compiles it: 18 CPU-minutes, 37 minutes of wall time on 2 busy cores).
pub const ISTIOD_BUILD_TIMEOUT: Duration = Duration::from_secs(1800);

/// The Go module that pins Istio (`loadgen/istiod/`, its `go.mod` and `go.sum`).
pub fn istiod_module_dir(root: &Path) -> PathBuf {
    root.join("loadgen").join("istiod")
}

/// Where the built istiod is: `<root>/target/istiod/`.
pub fn istiod_dir(root: &Path) -> PathBuf {
    root.join("target").join("istiod")
}

/// The built binary: `<root>/target/istiod/istiod`.
pub fn istiod_binary(root: &Path) -> PathBuf {
    istiod_dir(root).join("istiod")
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

/// A `go` command in `module_dir`, with Go's own per-user caches (`go env GOCACHE`,
/// `GOMODCACHE`; the environment may point them elsewhere): Istio's module graph is some 800 MB
/// to download and 18 CPU-minutes to compile, paid once per machine rather than once per clone
/// (a fresh clone's `target/` is empty).
fn go_in(go: &Path, module_dir: &Path) -> Command {
    let mut cmd = Command::new(go);
    cmd.current_dir(module_dir)
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=readonly");
    cmd
}

/// The version istiod reports, as Istio's own build stamps it (`Makefile.core.mk`: the
/// `VERSION` file of the module plus `-dev`), its commit and a clean build status, as `-X`
/// linker flags of `istio.io/istio/pkg/version`.
pub fn version_ldflags(version_file: &str, commit: &str) -> String {
    let pkg = "istio.io/istio/pkg/version";
    format!(
        "-s -w -X {pkg}.buildVersion={}-dev -X {pkg}.buildGitRevision={commit} -X {pkg}.buildStatus=Clean",
        version_file.trim()
    )
}

/// The `go build` of `loadgen/istiod` (`module_dir`), to
/// `output`.
pub fn istiod_build_command(go: &Path, module_dir: &Path, ldflags: &str, output: &Path) -> Command {
    let mut cmd = go_in(go, module_dir);
    cmd.args(["build", "-trimpath"])
        .arg(format!("-ldflags={ldflags}"))
        .arg("-o")
        .arg(output)
        .arg(ISTIOD_PACKAGE);
    cmd
}

/// Downloads (or finds) the pinned `istio.io/istio` module: answers its directory.
fn download_istio(go: &Path, module_dir: &Path) -> Result<PathBuf, String> {
    let mut cmd = go_in(go, module_dir);
    cmd.args(["mod", "download", "-json", "istio.io/istio"]);
    match run_bounded(&mut cmd, ISTIOD_BUILD_TIMEOUT)? {
        (true, stdout, _) => stdout
            .lines()
            .find_map(|l| {
                let value = l.trim().strip_prefix("\"Dir\":")?.trim();
                Some(PathBuf::from(value.trim_end_matches(',').trim_matches('"')))
            })
            .ok_or_else(|| {
                format!("`go mod download istio.io/istio` named no directory: {stdout}")
            }),
        (false, stdout, stderr) => Err(format!(
            "`go mod download istio.io/istio` failed: {} {}",
            stdout.trim(),
            stderr.trim()
        )),
    }
}

/// Builds (or finds up to date) istiod for the repository at `root`: answers the binary.
/// `go build` decides what is up to date; the binary is written to a partial file and renamed, so
/// a running istiod is never replaced by half a file. Several builds at once (tests in parallel)
/// are serialised by a lock.
pub fn build_istiod(root: &Path) -> Result<PathBuf, GoBuildError> {
    static ONE_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_BUILD.lock().unwrap_or_else(|e| e.into_inner());
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
    let go_mod = std::fs::read_to_string(module_dir.join("go.mod"))
        .map_err(|e| failed(format!("{}: {e}", module_dir.join("go.mod").display())))?;
    let commit = pinned_istio_version(&go_mod)
        .as_deref()
        .and_then(pseudo_version_commit)
        .map(str::to_string)
        .ok_or_else(|| failed("go.mod pins no istio.io/istio pseudo-version".into()))?;
    let istio_dir = download_istio(&go, &module_dir).map_err(failed)?;
    let version_file = std::fs::read_to_string(istio_dir.join("VERSION"))
        .map_err(|e| failed(format!("{}: {e}", istio_dir.join("VERSION").display())))?;
    let output = istiod_binary(root);
    let partial = dir.join("istiod.partial");
    let ldflags = version_ldflags(&version_file, &commit);
    let mut cmd = istiod_build_command(&go, &module_dir, &ldflags, &partial);
    match run_bounded(&mut cmd, ISTIOD_BUILD_TIMEOUT) {
        Ok((true, _, _)) => {}
        Ok((false, _, stderr)) => {
            let _ = std::fs::remove_file(&partial);
            let lines: Vec<&str> = stderr.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            return Err(failed(format!("`go build` of istiod failed:\n{tail}")));
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
    fn istiod_is_stamped_as_istios_build_stamps_it() {
        let flags = version_ldflags("1.31\n", "eed52ebb66ad");
        assert!(
            flags.contains("-X istio.io/istio/pkg/version.buildVersion=1.31-dev "),
            "{flags}"
        );
        assert!(
            flags.contains("pkg/version.buildGitRevision=eed52ebb66ad"),
            "{flags}"
        );
    }

    #[test]
    fn the_project_pins_istio_in_its_go_module() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let go_mod = std::fs::read_to_string(istiod_module_dir(&root).join("go.mod")).unwrap();
        let v = pinned_istio_version(&go_mod).expect("go.mod requires istio.io/istio");
        assert!(pseudo_version_commit(&v).is_some(), "{v}");
        let main = std::fs::read_to_string(istiod_module_dir(&root).join("main.go")).unwrap();
        assert!(main.contains("\"istio.io/istio/pilot/test/xds\""), "{main}");
    }
}
