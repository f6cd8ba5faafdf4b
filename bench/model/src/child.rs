//! Children die with us: every long-running child (cargo building a twin, valgrind counting
//! instructions) gets `PR_SET_PDEATHSIG`, as Envoy does, so that a filterbench killed outright
//! (SIGKILL, a crash) leaves none of them running.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the child `cmd` starts receive SIGKILL when the thread that started it ends (Linux's
/// "parent death": the starting thread, so call `output()`/`status()` on a thread that waits).
pub fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: prctl, getppid and _exit are async-signal-safe, as pre_exec requires.
    let parent = unsafe { libc::getpid() };
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent died before the prctl: the signal will never come.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};

    /// The child of a thread that ends without waiting for it is killed.
    #[test]
    fn a_child_dies_when_the_thread_that_started_it_ends() {
        let mut child = std::thread::spawn(|| {
            die_with_parent(Command::new("sleep").arg("60"))
                .spawn()
                .unwrap()
        })
        .join()
        .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child outlived the thread that started it");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    }
}
