//! Shared helpers: a disposable copy of the project's inputs (to break things in), and running the
//! CLI with a time limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use filterbench_model::project_root;

/// A copy of the catalogue, corpora, Lua scripts (pairs and bench guests), Wasm crate manifests
/// and the report policy in a temp dir, usable as `FILTERBENCH_ROOT` (the built modules stay
/// where the build put them).
pub struct ProjectCopy {
    pub dir: tempfile::TempDir,
}

impl ProjectCopy {
    pub fn new() -> ProjectCopy {
        let dir = tempfile::tempdir().unwrap();
        let root = project_root();
        let to = dir.path();
        for sub in [
            "bench/corpus",
            "bench/guests",
            "filters-lua",
            "filters-wasm",
        ] {
            std::fs::create_dir_all(to.join(sub)).unwrap();
        }
        std::fs::copy(
            root.join("bench/catalogue.toml"),
            to.join("bench/catalogue.toml"),
        )
        .unwrap();
        std::fs::create_dir_all(to.join("reports")).unwrap();
        std::fs::copy(
            root.join("reports/policy.toml"),
            to.join("reports/policy.toml"),
        )
        .unwrap();
        for (sub, ext) in [
            ("bench/corpus", "toml"),
            ("bench/guests", "lua"),
            ("filters-lua", "lua"),
        ] {
            for entry in std::fs::read_dir(root.join(sub)).unwrap().flatten() {
                if entry.path().extension().is_some_and(|e| e == ext) {
                    std::fs::copy(entry.path(), to.join(sub).join(entry.file_name())).unwrap();
                }
            }
        }
        for entry in std::fs::read_dir(root.join("filters-wasm"))
            .unwrap()
            .flatten()
        {
            if entry.path().join("Cargo.toml").is_file() {
                let crate_dir = to.join("filters-wasm").join(entry.file_name());
                std::fs::create_dir_all(&crate_dir).unwrap();
                std::fs::copy(
                    entry.path().join("Cargo.toml"),
                    crate_dir.join("Cargo.toml"),
                )
                .unwrap();
            }
        }
        // istiod's Go module (the deployed check of `all` builds it into the copy's target/;
        // Go's per-user caches make that a link, not a rebuild of Istio).
        std::fs::create_dir_all(to.join("loadgen/istiod")).unwrap();
        for entry in std::fs::read_dir(root.join("loadgen/istiod"))
            .unwrap()
            .flatten()
        {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name == "go.mod" || name == "go.sum" || name.ends_with(".go") {
                std::fs::copy(entry.path(), to.join("loadgen/istiod").join(&*name)).unwrap();
            }
        }
        ProjectCopy { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Replaces `from` with `to` in a file of the copy (which must contain it).
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.path(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// Installs Envoy on first use (or finds it), so that no test's time limit includes an install:
/// limits in these tests only stop hangs, and a first `pip install` is not a hang.
pub fn ensure_envoy() {
    filterbench_envoy::envoy::find_envoy().expect("an Envoy (ENVOY_BIN or the project's venv)");
}

/// A `filterbench` command whose child starts with SIGINT at its default disposition, whatever
/// the test run inherited: a run started in the background by a shell (`nohup cargo test &`)
/// ignores SIGINT, filterbench rightly keeps an inherited SIG_IGN, and the Ctrl-C tests would
/// then signal a process that ignores them.
pub fn filterbench_command() -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_filterbench"));
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    cmd
}

/// Runs `filterbench` with `args` and extra environment; fails the test if it takes longer than
/// `limit` (the child is killed first). Envoy is installed first when it is missing, outside the
/// limit.
pub fn filterbench(args: &[&str], env: &[(&str, &std::ffi::OsStr)], limit: Duration) -> Output {
    ensure_envoy();
    let mut cmd = filterbench_command();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("run filterbench");
    let pid = child.id();
    let waiter =
        std::thread::spawn(move || child.wait_with_output().expect("wait for filterbench"));
    let start = Instant::now();
    while !waiter.is_finished() {
        if start.elapsed() > limit {
            // SAFETY: killing the child we started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            let _ = waiter.join();
            panic!("filterbench {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    waiter.join().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Process ids of running processes whose executable name is `envoy`, with their parent ids.
pub fn envoy_processes() -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((comm_part, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = comm_part.split_once(" (").map(|(_, c)| c).unwrap_or("");
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let state = rest.split_whitespace().next().unwrap_or("");
        if comm == "envoy" && state != "Z" {
            found.push((pid, ppid));
        }
    }
    found
}
