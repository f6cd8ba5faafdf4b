//! Private scratch directories for what Envoy is given and writes: its bootstrap (inline Lua),
//! its log (a filter's log lines about HAR-recorded traffic: cookies, tokens), generated
//! manifests. Each is `$TMPDIR/filterbench-<kind>-<pid>-<random>`, mode 0700, and is removed
//!
//! - on drop (every ordinary exit path, unwinding from a panic included);
//! - by the SIGINT/SIGTERM/SIGHUP handler of [`crate::envoy`] before it exits
//!   ([`remove_registered`]: async-signal-safe, so only raw system calls and fixed buffers);
//! - when the process died without either (SIGKILL, a crash), by the next filterbench process
//!   that makes one ([`remove_stale`]): only directories whose owning pid is gone and that
//!   belong to this user.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crate::envoy::SLOTS;

/// The prefix of every scratch directory's name.
const PREFIX: &str = "filterbench-";
/// The kinds of scratch directory (the word after [`PREFIX`]).
const KINDS: &[&str] = &["envoy", "deployed", "ecds", "istiod"];

/// A scratch directory; removed on drop.
#[derive(Debug)]
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
    slot: Option<usize>,
}

impl Scratch {
    /// Creates `$TMPDIR/filterbench-<kind>-<pid>-<random>` with mode 0700, after removing the
    /// scratch directories of filterbench processes that are gone.
    pub fn new(kind: &str) -> std::io::Result<Scratch> {
        debug_assert!(KINDS.contains(&kind));
        crate::envoy::install_signal_handler();
        let tmp = std::env::temp_dir();
        remove_stale(&tmp);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{kind}-{}-", std::process::id()))
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(&tmp)?;
        let slot = register(dir.path());
        Ok(Scratch {
            dir: Some(dir),
            slot,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("present until drop").path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            PATH_LEN[slot].store(0, Ordering::SeqCst);
        }
        // TempDir's drop removes the tree.
        drop(self.dir.take());
    }
}

// ---- registered paths, readable from a signal handler -------------------------------------

const PATH_BYTES: usize = 512;
/// 0: free; `usize::MAX`: being written; else the length of the path in `PATHS[slot]`.
static PATH_LEN: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static PATHS: [[AtomicU8; PATH_BYTES]; SLOTS] =
    [const { [const { AtomicU8::new(0) }; PATH_BYTES] }; SLOTS];

/// Records `dir` for [`remove_registered`]; `None` when it cannot be (no free slot, a path too
/// long): then only drop and [`remove_stale`] remove it.
fn register(dir: &Path) -> Option<usize> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = dir.as_os_str().as_bytes();
    if bytes.is_empty() || bytes.len() >= PATH_BYTES || bytes.contains(&0) {
        return None;
    }
    let slot = PATH_LEN.iter().position(|len| {
        len.compare_exchange(0, usize::MAX, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    })?;
    for (cell, b) in PATHS[slot].iter().zip(bytes) {
        cell.store(*b, Ordering::Relaxed);
    }
    PATH_LEN[slot].store(bytes.len(), Ordering::SeqCst);
    Some(slot)
}

/// Removes every registered scratch directory (its files, then itself). Async-signal-safe: only
/// open, getdents64, unlinkat, close and rmdir on stack buffers.
pub(crate) fn remove_registered() {
    for (slot, len) in PATH_LEN.iter().enumerate() {
        let len = len.load(Ordering::SeqCst);
        if len == 0 || len >= PATH_BYTES {
            continue;
        }
        let mut path = [0u8; PATH_BYTES];
        for (b, cell) in path.iter_mut().zip(&PATHS[slot][..len]) {
            *b = cell.load(Ordering::Relaxed);
        }
        // SAFETY: `path` is NUL-terminated (len < PATH_BYTES, the rest is 0).
        unsafe { remove_flat(path.as_ptr().cast()) };
    }
}

/// Removes the entries of the directory `path` (files; empty subdirectories), then the
/// directory. What cannot be removed this way stays for [`remove_stale`].
///
/// # Safety
/// `path` must be a NUL-terminated string.
unsafe fn remove_flat(path: *const libc::c_char) {
    // SAFETY: raw system calls on `path` (NUL-terminated, the caller's promise), a directory
    // descriptor we opened and records the kernel wrote into `buf` (each within `n` bytes).
    unsafe {
        let fd = libc::open(
            path,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        // Entries removed while reading may shift the listing: read it again from the start
        // until a pass removes nothing.
        for _ in 0..8 {
            let mut removed = false;
            libc::lseek(fd, 0, libc::SEEK_SET);
            loop {
                let n = libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len());
                if n <= 0 {
                    break;
                }
                let mut off = 0usize;
                while off + 19 < n as usize {
                    // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type;
                    // char d_name[]; }
                    let rec = buf.as_ptr().add(off);
                    let reclen = u16::from_ne_bytes([*rec.add(16), *rec.add(17)]) as usize;
                    if reclen == 0 {
                        break;
                    }
                    let name = rec.add(19).cast::<libc::c_char>();
                    let dot = *name == b'.' as libc::c_char
                        && (*name.add(1) == 0
                            || (*name.add(1) == b'.' as libc::c_char && *name.add(2) == 0));
                    if !dot
                        && (libc::unlinkat(fd, name, 0) == 0
                            || libc::unlinkat(fd, name, libc::AT_REMOVEDIR) == 0)
                    {
                        removed = true;
                    }
                    off += reclen;
                }
            }
            if !removed {
                break;
            }
        }
        libc::close(fd);
        libc::rmdir(path);
    }
}

// ---- what dead processes left -------------------------------------------------------------

/// The owning pid of a scratch directory's name (`filterbench-<kind>-<pid>-<random>`).
fn owner_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (kind, rest) = rest.split_once('-')?;
    if !KINDS.contains(&kind) {
        return None;
    }
    let (pid, random) = rest.split_once('-')?;
    if random.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().filter(|&p| p > 0)
}

/// Whether process `pid` exists (any user's).
fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Removes the scratch directories under `tmp` whose owning process is gone and that belong to
/// this user; returns what it removed. Directories of live processes, of other users, of names
/// without a pid (an older filterbench's) and anything that is not a directory stay.
pub fn remove_stale(tmp: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return Vec::new();
    };
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let me = std::process::id() as i32;
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if pid == me || process_exists(pid) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() && meta.uid() == uid && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pids_come_from_the_name() {
        assert_eq!(owner_pid("filterbench-envoy-123-AbC9"), Some(123));
        assert_eq!(owner_pid("filterbench-ecds-7-x"), Some(7));
        assert_eq!(owner_pid("filterbench-envoy-AbC9x1"), None, "an older name");
        assert_eq!(owner_pid("filterbench-other-123-x"), None);
        assert_eq!(owner_pid("filterbench-envoy-123-"), None);
        assert_eq!(owner_pid("notes"), None);
    }

    #[test]
    fn a_scratch_directory_is_private_and_removed_by_the_signal_path() {
        let scratch = Scratch::new("envoy").unwrap();
        let path = scratch.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(owner_pid(&name), Some(std::process::id() as i32));
        std::fs::write(path.join("bootstrap.json"), "{}").unwrap();
        std::fs::write(path.join("envoy.log"), "cookie: secret").unwrap();
        std::fs::create_dir(path.join("empty")).unwrap();
        // What the signal handler does before it exits.
        remove_registered();
        assert!(!path.exists());
        drop(scratch);
    }

    #[test]
    fn stale_directories_of_dead_processes_only_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        // A process that is gone: a child we started and reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let gone = tmp.path().join(format!("filterbench-envoy-{dead}-aaaa"));
        let live = tmp
            .path()
            .join(format!("filterbench-envoy-{}-bbbb", std::process::id()));
        let old = tmp.path().join("filterbench-envoy-cccccc");
        let file = tmp.path().join(format!("filterbench-deployed-{dead}-dddd"));
        for dir in [&gone, &live, &old] {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join("envoy.log"), "x").unwrap();
        }
        std::fs::write(&file, "not a directory").unwrap();
        let removed = remove_stale(tmp.path());
        assert_eq!(removed, vec![gone.clone()]);
        assert!(!gone.exists());
        assert!(live.exists() && old.exists() && file.exists());
    }
}
