//! No Envoy outlives the run that started it: not after a panic, not after Ctrl-C or SIGTERM, not
//! after the runner is killed outright; and its private (0700) directory goes with it (at the next
//! start when the runner was killed outright).

use std::process::Stdio;
use std::time::{Duration, Instant};

use filterbench_envoy::bootstrap::{bootstrap, Services};
use filterbench_envoy::envoy::{find_envoy, Envoy, EnvoyOptions};

use crate::support::envoy_processes;

fn alive(pid: u32) -> bool {
    envoy_processes().iter().any(|(p, _)| *p == pid)
}

fn wait_gone(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_panic_while_envoy_runs_still_reaps_it() {
    let bin = find_envoy().unwrap();
    let result = std::thread::spawn(move || {
        let config = bootstrap(
            &[],
            Services {
                echo_port: 9,
                auth_port: 9,
            },
        );
        let envoy = Envoy::start(&bin, &config, &EnvoyOptions::default()).unwrap();
        let pid = envoy.pid().unwrap();
        assert!(alive(pid));
        std::panic::panic_any(pid);
    })
    .join();
    let pid = *result.unwrap_err().downcast::<u32>().unwrap();
    assert!(
        wait_gone(pid, Duration::from_secs(5)),
        "envoy {pid} survived the panic"
    );
}

/// Starts `filterbench verify --envoy` on every pair and waits for its Envoy child to appear.
/// The caller waits for the child (clippy cannot see that across the return).
#[allow(clippy::zombie_processes)]
fn cli_with_envoy() -> (std::process::Child, u32) {
    crate::support::ensure_envoy();
    let mut child = crate::support::filterbench_command()
        .args(["verify", "--envoy"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        // The first Envoy child may be `envoy --version` (the CLI prints the version first):
        // the one under test is the child started once its scratch directory exists.
        let started = !scratch_dirs(child.id()).is_empty();
        if let Some((pid, _)) = envoy_processes()
            .into_iter()
            .find(|(_, ppid)| started && *ppid == child.id())
        {
            return (child, pid);
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("filterbench never started an Envoy");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The scratch directories (`$TMPDIR/filterbench-<kind>-<pid>-*`) of process `pid`.
fn scratch_dirs(pid: u32) -> Vec<std::path::PathBuf> {
    let prefixes: Vec<String> = ["envoy", "deployed", "ecds"]
        .iter()
        .map(|kind| format!("filterbench-{kind}-{pid}-"))
        .collect();
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            prefixes.iter().any(|p| name.starts_with(p.as_str()))
        })
        .map(|e| e.path())
        .collect()
}

fn stop_and_check(signal: i32) {
    let (mut child, envoy) = cli_with_envoy();
    // Envoy's directory (its bootstrap holds inline Lua, its log what filters logged) is private.
    let dirs = scratch_dirs(child.id());
    assert!(!dirs.is_empty(), "no scratch directory of {}", child.id());
    for dir in &dirs {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}: {mode:o}", dir.display());
    }
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, signal) };
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("filterbench did not stop within 10 s of signal {signal}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(!status.success());
    assert!(
        wait_gone(envoy, Duration::from_secs(5)),
        "envoy {envoy} outlived filterbench (signal {signal})"
    );
    let left = scratch_dirs(child.id());
    if signal == libc::SIGKILL {
        // Nothing runs in a process killed outright: the next one that starts Envoy removes
        // what it left (its pid is gone).
        let next = filterbench_envoy::scratch::Scratch::new("envoy").unwrap();
        drop(next);
        let left = scratch_dirs(child.id());
        assert!(left.is_empty(), "left after the next start: {left:?}");
    } else {
        assert!(left.is_empty(), "left after signal {signal}: {left:?}");
    }
}

#[test]
fn ctrl_c_reaps_envoy() {
    stop_and_check(libc::SIGINT);
}

#[test]
fn sigterm_reaps_envoy_and_removes_its_directory() {
    stop_and_check(libc::SIGTERM);
}

#[test]
fn killing_the_runner_outright_still_kills_envoy() {
    stop_and_check(libc::SIGKILL);
}
