//! Building the Go twins (`filters-go/<pair>/`, one Go module with a `main` package per pair)
//! for `wasip1` with standard Go: `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`, one
//! module per pair, to `<out>/<pair>.wasm`. Shared by the build script (`bench/build/build.rs`
//! includes this file with `#[path]`) and by the crate; self-contained, std only, so it can move
//! with the build step.
//!
//! The Go caches live under the output directory (`<out>/cache/build`, `<out>/cache/mod`), so
//! they are kept between runs with the rest of `target/` and never touch the user's own caches.
//! `go` is `$GO` or `go` on `PATH`; it must be Go 1.24 or newer (`go:wasmexport`). Every `go`
//! child is bounded by a timeout, killed and reaped when it runs past it.

#![allow(dead_code)] // The build script uses part of it, the crate another part.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one `go` command may run (a cold build of one twin takes about 10 s on 2 cores).
pub const GO_TIMEOUT: Duration = Duration::from_secs(300);

/// The oldest Go that builds the twins (`go:wasmexport` and `-buildmode=c-shared` on wasip1).
pub const MIN_GO: (u32, u32) = (1, 24);

/// Why the Go twins were not built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoBuildError {
    /// No usable Go toolchain: the message says exactly what is missing.
    Missing(String),
    /// `go build` of one twin failed or ran out of time.
    Failed { pair: String, message: String },
}

impl std::fmt::Display for GoBuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GoBuildError::Missing(m) => write!(f, "{m}"),
            GoBuildError::Failed { pair, message } => {
                write!(f, "building the Go twin {pair} failed: {message}")
            }
        }
    }
}

/// The `go` command to run: `$GO` when set, else `go`.
pub fn go_command() -> PathBuf {
    std::env::var_os("GO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("go"))
}

/// The pairs with a Go twin under `module_dir` (`filters-go/`): every `<name>/main.go`, sorted.
/// (`proxywasm/` and `twin/` are the shared packages, not twins: they have no `main.go`.)
pub fn go_twins_in(module_dir: &Path) -> Vec<String> {
    let mut pairs: Vec<String> = std::fs::read_dir(module_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join("main.go").is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
}

/// Runs `cmd` to its end or until `timeout`, whichever comes first; the child is killed and
/// reaped on timeout. Answers (success, stdout, stderr).
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<(bool, String, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run {:?}: {e}", cmd.get_program()))?;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{:?} ran past {} s and was stopped",
                    cmd.get_program(),
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("waiting for {:?}: {e}", cmd.get_program()));
            }
        }
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Ok((status.success(), stdout, stderr))
}

/// Parses `go version` output (`go version go1.26.8 linux/amd64`) into (major, minor).
pub fn parse_go_version(output: &str) -> Option<(u32, u32)> {
    let word = output.split_whitespace().find(|w| w.starts_with("go1"))?;
    let mut parts = word.trim_start_matches("go").split(['.', '-', 'r', 'b']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Checks that `go` runs and is recent enough; the error says what is missing.
pub fn check_go(go: &Path) -> Result<String, GoBuildError> {
    let mut cmd = Command::new(go);
    cmd.arg("version").env("GOTOOLCHAIN", "local");
    match run_bounded(&mut cmd, Duration::from_secs(60)) {
        Ok((true, stdout, _)) => match parse_go_version(&stdout) {
            Some(v) if v >= MIN_GO => Ok(stdout.trim().to_string()),
            Some((a, b)) => Err(GoBuildError::Missing(format!(
                "`{}` is Go {a}.{b}; the Go twins need Go {}.{} or newer (go:wasmexport for wasip1)",
                go.display(),
                MIN_GO.0,
                MIN_GO.1
            ))),
            None => Err(GoBuildError::Missing(format!(
                "`{} version` printed {:?}, not a Go version",
                go.display(),
                stdout.trim()
            ))),
        },
        Ok((false, _, stderr)) => Err(GoBuildError::Missing(format!(
            "`{} version` failed: {}",
            go.display(),
            stderr.trim()
        ))),
        Err(_) => Err(GoBuildError::Missing(format!(
            "the Go toolchain is missing: `{}` could not be run (install Go {}.{}+ and put `go` on PATH, or set GO=/path/to/go)",
            go.display(),
            MIN_GO.0,
            MIN_GO.1
        ))),
    }
}

/// The `go build` command for the twin `pair` of `module_dir`, writing `output`.
pub fn go_build_command(
    go: &Path,
    module_dir: &Path,
    cache_dir: &Path,
    pair: &str,
    output: &Path,
) -> Command {
    let mut cmd = Command::new(go);
    cmd.current_dir(module_dir)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOCACHE", cache_dir.join("build"))
        .env("GOMODCACHE", cache_dir.join("mod"))
        .args([
            "build",
            "-buildmode=c-shared",
            "-trimpath",
            "-ldflags=-s -w",
            "-o",
        ])
        .arg(output)
        .arg(format!("./{pair}"));
    cmd
}

/// Builds every Go twin of `module_dir` (`filters-go/`) to `<out_dir>/<pair>.wasm`, with the Go
/// caches under `<out_dir>/cache`. Answers the pairs built, in order.
pub fn build_go_twins(
    module_dir: &Path,
    out_dir: &Path,
) -> Result<Vec<(String, PathBuf)>, GoBuildError> {
    let pairs = go_twins_in(module_dir);
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let go = go_command();
    check_go(&go)?;
    let cache_dir = out_dir.join("cache");
    let mut built = Vec::new();
    for pair in pairs {
        let output = build_go_twin(&go, module_dir, &cache_dir, out_dir, &pair)?;
        built.push((pair, output));
    }
    Ok(built)
}

/// Builds the Go twin `pair` of `module_dir` (the package `./<pair>`) to `<out_dir>/<pair>.wasm`
/// with the Go caches in `cache_dir` (`go` checked already, [`check_go`]); answers the module's
/// path. A failed build leaves no partial module behind.
pub fn build_go_twin(
    go: &Path,
    module_dir: &Path,
    cache_dir: &Path,
    out_dir: &Path,
    pair: &str,
) -> Result<PathBuf, GoBuildError> {
    let output = out_dir.join(format!("{pair}.wasm"));
    let partial = out_dir.join(format!("{pair}.wasm.partial"));
    let failed = |message: String| GoBuildError::Failed {
        pair: pair.to_string(),
        message,
    };
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| failed(format!("creating {}: {e}", cache_dir.display())))?;
    let mut cmd = go_build_command(go, module_dir, cache_dir, pair, &partial);
    match run_bounded(&mut cmd, GO_TIMEOUT) {
        Ok((true, _, _)) => {}
        Ok((false, _, stderr)) => {
            let _ = std::fs::remove_file(&partial);
            return Err(failed(stderr.trim().to_string()));
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(failed(e));
        }
    }
    std::fs::rename(&partial, &output)
        .map_err(|e| failed(format!("moving the module to {}: {e}", output.display())))?;
    Ok(output)
}

/// The command [`build_go_twin`] runs, for people (errors name it so it can be run by hand).
pub fn go_build_shown(go: &Path, module_dir: &Path, pair: &str, output: &Path) -> String {
    format!(
        "cd {} && GOOS=wasip1 GOARCH=wasm {} build -buildmode=c-shared -o {} ./{pair}",
        module_dir.display(),
        go.display(),
        output.display()
    )
}

/// The first error line of `go build`'s output (`# package` headers skipped), one line; the
/// whole output, shortened, when no line looks like one.
pub fn first_go_error(stderr: &str) -> String {
    match stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("# "))
    {
        Some(line) => line.chars().take(400).collect(),
        None => stderr.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions_parse() {
        assert_eq!(
            parse_go_version("go version go1.26.8 linux/amd64"),
            Some((1, 26))
        );
        assert_eq!(
            parse_go_version("go version go1.24rc1 linux/amd64"),
            Some((1, 24))
        );
        assert_eq!(parse_go_version("go version devel"), None);
        assert!(parse_go_version("go version go1.21.0 linux/amd64").unwrap() < MIN_GO);
    }

    #[test]
    fn a_missing_go_says_what_is_missing() {
        let err = check_go(Path::new("/nonexistent/bin/go")).unwrap_err();
        let GoBuildError::Missing(message) = err else {
            panic!("not a Missing error: {err:?}");
        };
        assert!(message.contains("Go toolchain is missing"), "{message}");
        assert!(message.contains("/nonexistent/bin/go"), "{message}");
    }

    #[test]
    fn the_first_go_error_skips_the_package_header() {
        let out = "# mine/x\nx/main.go:3:2: undefined: nope\nx/main.go:4:2: undefined: other\n";
        assert_eq!(first_go_error(out), "x/main.go:3:2: undefined: nope");
    }

    #[test]
    fn a_command_past_its_time_is_stopped_and_reaped() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let err = run_bounded(&mut cmd, Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("was stopped"), "{err}");
    }
}
