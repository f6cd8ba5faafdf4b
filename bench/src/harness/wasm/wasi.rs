//! The WASI preview1 functions (module `wasi_snapshot_preview1`) a proxy-wasm plugin built for
//! `wasm32-wasip1` imports, with the semantics the proxy-wasm spec gives them: stdout/stderr go
//! to the log (info/error), clocks read the VM's controllable clock, randomness comes from the
//! VM's seeded source, there are no arguments, environment variables, files or preopens, and
//! `proc_exit` traps (a plugin must not exit).

use wasmtime::{Caller, Linker};

use super::abi::errno;
use super::host::{Host, ProcExit};
use super::memory;
use crate::harness::LogLevel;

const MODULE: &str = "wasi_snapshot_preview1";

type R = wasmtime::Result<u32>;

macro_rules! split_or_fault {
    ($caller:expr) => {{
        match memory::split($caller) {
            Some(pair) => pair,
            None => return Ok(errno::FAULT),
        }
    }};
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(memory::Fault) => return Ok(errno::FAULT),
        }
    };
}

/// The iovecs of an array (`{ buf: u32, len: u32 }` each), checked to lie in memory.
fn iovecs(data: &[u8], iovs: u32, iovs_len: u32) -> Result<Vec<&[u8]>, memory::Fault> {
    // The array itself must lie in memory: this bounds the count by the memory size.
    memory::check(data, iovs, iovs_len.checked_mul(8).ok_or(memory::Fault)?)?;
    let mut out = Vec::with_capacity(iovs_len as usize);
    for i in 0..iovs_len {
        let at = iovs
            .checked_add(i.checked_mul(8).ok_or(memory::Fault)?)
            .ok_or(memory::Fault)?;
        let buf = memory::read_u32(data, at)?;
        let len = memory::read_u32(data, at.checked_add(4).ok_or(memory::Fault)?)?;
        out.push(memory::read(data, buf, len)?);
    }
    Ok(out)
}

fn fd_write(mut caller: Caller<'_, Host>, fd: u32, iovs: u32, iovs_len: u32, nwritten: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let level = match fd {
        1 => LogLevel::Info,
        2 => LogLevel::Error,
        _ => return Ok(errno::BADF),
    };
    let parts = tri!(iovecs(data, iovs, iovs_len));
    tri!(memory::check(data, nwritten, 4));
    // Counted before anything is copied: many iovecs over the whole memory would otherwise make
    // one call copy gigabytes.
    let total = parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
    host.charge(total, "stdout/stderr writes")?;
    let bytes = parts.concat();
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    if !text.is_empty() {
        host.log(level, text);
    }
    tri!(memory::write_u32(data, nwritten, bytes.len() as u32));
    Ok(errno::SUCCESS)
}

fn fd_read(mut caller: Caller<'_, Host>, fd: u32, _iovs: u32, _iovs_len: u32, nread: u32) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    if fd != 0 {
        return Ok(errno::BADF);
    }
    // stdin is empty.
    tri!(memory::write_u32(data, nread, 0));
    Ok(errno::SUCCESS)
}

fn fd_close(_caller: Caller<'_, Host>, fd: u32) -> R {
    Ok(if fd <= 2 { errno::SUCCESS } else { errno::BADF })
}

fn fd_seek(_caller: Caller<'_, Host>, fd: u32, _offset: i64, _whence: u32, _ret: u32) -> R {
    Ok(if fd <= 2 { errno::SPIPE } else { errno::BADF })
}

fn fd_fdstat_get(mut caller: Caller<'_, Host>, fd: u32, ret: u32) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    if fd > 2 {
        return Ok(errno::BADF);
    }
    // fdstat: filetype u8 (2 = character device), flags u16 at 2, rights_base u64 at 8,
    // rights_inheriting u64 at 16. Rights: fd_read (bit 1) for stdin, fd_write (bit 6) else.
    let mut stat = [0u8; 24];
    stat[0] = 2;
    let rights: u64 = if fd == 0 { 1 << 1 } else { 1 << 6 };
    stat[8..16].copy_from_slice(&rights.to_le_bytes());
    tri!(memory::write(data, ret, &stat));
    Ok(errno::SUCCESS)
}

fn fd_prestat_get(_caller: Caller<'_, Host>, _fd: u32, _ret: u32) -> R {
    // No preopened directories.
    Ok(errno::BADF)
}

fn fd_prestat_dir_name(_caller: Caller<'_, Host>, _fd: u32, _path: u32, _len: u32) -> R {
    Ok(errno::BADF)
}

fn clock_time_get(mut caller: Caller<'_, Host>, clock_id: u32, _precision: i64, ret: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    match clock_id {
        // realtime, monotonic: both follow the VM's clock (Envoy's time source).
        0 | 1 => {
            tri!(memory::write_u64(data, ret, host.env.clock.now_ns()));
            Ok(errno::SUCCESS)
        }
        _ => Ok(errno::NOTSUP),
    }
}

fn clock_res_get(mut caller: Caller<'_, Host>, clock_id: u32, ret: u32) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    match clock_id {
        0 | 1 => {
            tri!(memory::write_u64(data, ret, 1));
            Ok(errno::SUCCESS)
        }
        _ => Ok(errno::NOTSUP),
    }
}

fn random_get(mut caller: Caller<'_, Host>, buf: u32, len: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    if len > 64 * 1024 {
        return Ok(errno::INVAL);
    }
    let dst = tri!(memory::read_mut(data, buf, len));
    host.env.random.fill(dst);
    Ok(errno::SUCCESS)
}

fn sizes_zero(mut caller: Caller<'_, Host>, count: u32, size: u32) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::check(data, count, 4));
    tri!(memory::check(data, size, 4));
    tri!(memory::write_u32(data, count, 0));
    tri!(memory::write_u32(data, size, 0));
    Ok(errno::SUCCESS)
}

fn environ_sizes_get(caller: Caller<'_, Host>, count: u32, size: u32) -> R {
    sizes_zero(caller, count, size)
}

fn args_sizes_get(caller: Caller<'_, Host>, count: u32, size: u32) -> R {
    sizes_zero(caller, count, size)
}

fn environ_get(_caller: Caller<'_, Host>, _array: u32, _buf: u32) -> R {
    // Nothing to write: there are no variables.
    Ok(errno::SUCCESS)
}

fn args_get(_caller: Caller<'_, Host>, _array: u32, _buf: u32) -> R {
    Ok(errno::SUCCESS)
}

fn proc_exit(_caller: Caller<'_, Host>, code: u32) -> wasmtime::Result<()> {
    Err(wasmtime::Error::new(ProcExit(code)))
}

fn sched_yield(_caller: Caller<'_, Host>) -> R {
    Ok(errno::SUCCESS)
}

// The two functions below are imported by Go's wasip1 runtime (standard Go, `-buildmode=
// c-shared`) and by no Rust twin. They answer as Envoy's proxy-wasm host (proxy-wasm-cpp-host)
// does, so that in-process and Envoy runs of a Go module stay equal.

/// `poll_oneoff(in, out, nsubscriptions, nevents)`: no event polling; `*nevents = 0` and
/// success. Go's scheduler calls it to sleep while it has nothing to run (timers), and its
/// runtime treats any error as fatal; Envoy answers the same way.
fn poll_oneoff(mut caller: Caller<'_, Host>, _in: u32, _out: u32, _nsubs: u32, nevents: u32) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::write_u32(data, nevents, 0));
    Ok(errno::SUCCESS)
}

/// `fd_fdstat_set_flags(fd, flags)`: no flag has an effect on the log-backed stdout/stderr;
/// Envoy answers ENOSYS for every descriptor, and so does this host (Go's `os` package only
/// tries to clear O_NONBLOCK on the standard descriptors and goes on).
fn fd_fdstat_set_flags(_caller: Caller<'_, Host>, _fd: u32, _flags: u32) -> R {
    Ok(errno::NOSYS)
}

/// The WASI functions the host defines.
pub const FUNCTIONS: &[&str] = &[
    "fd_write",
    "fd_read",
    "fd_close",
    "fd_seek",
    "fd_fdstat_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "clock_time_get",
    "clock_res_get",
    "random_get",
    "environ_get",
    "environ_sizes_get",
    "args_get",
    "args_sizes_get",
    "proc_exit",
    "sched_yield",
    "poll_oneoff",
    "fd_fdstat_set_flags",
];

pub fn define(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, "fd_write", fd_write)?;
    linker.func_wrap(MODULE, "fd_read", fd_read)?;
    linker.func_wrap(MODULE, "fd_close", fd_close)?;
    linker.func_wrap(MODULE, "fd_seek", fd_seek)?;
    linker.func_wrap(MODULE, "fd_fdstat_get", fd_fdstat_get)?;
    linker.func_wrap(MODULE, "fd_prestat_get", fd_prestat_get)?;
    linker.func_wrap(MODULE, "fd_prestat_dir_name", fd_prestat_dir_name)?;
    linker.func_wrap(MODULE, "clock_time_get", clock_time_get)?;
    linker.func_wrap(MODULE, "clock_res_get", clock_res_get)?;
    linker.func_wrap(MODULE, "random_get", random_get)?;
    linker.func_wrap(MODULE, "environ_get", environ_get)?;
    linker.func_wrap(MODULE, "environ_sizes_get", environ_sizes_get)?;
    linker.func_wrap(MODULE, "args_get", args_get)?;
    linker.func_wrap(MODULE, "args_sizes_get", args_sizes_get)?;
    linker.func_wrap(MODULE, "proc_exit", proc_exit)?;
    linker.func_wrap(MODULE, "sched_yield", sched_yield)?;
    linker.func_wrap(MODULE, "poll_oneoff", poll_oneoff)?;
    linker.func_wrap(MODULE, "fd_fdstat_set_flags", fd_fdstat_set_flags)?;
    Ok(())
}
