//! Every read and write of guest memory goes through this module. Pointers and lengths come
//! from the guest and are never trusted: an access outside the linear memory is a [`Fault`]
//! (the host function then returns `InvalidMemoryAccess`, or WASI's `FAULT`), never a host panic.
//! Memory handed to the guest is allocated by the guest itself (`proxy_on_memory_allocate`, or
//! `malloc` for old modules), as Envoy does.

use std::ops::Range;

use wasmtime::Caller;

use super::abi::Status;
use super::host::Host;

/// A guest pointer/length outside the linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault;

impl From<Fault> for Status {
    fn from(_: Fault) -> Status {
        Status::InvalidMemoryAccess
    }
}

/// The guest's linear memory (to be accessed only through this module's functions) and the
/// host state, or `None` before the memory is known.
pub fn split<'a>(caller: &'a mut Caller<'_, Host>) -> Option<(&'a mut [u8], &'a mut Host)> {
    let memory = caller.data().memory?;
    Some(memory.data_and_store_mut(caller))
}

/// The byte range `ptr..ptr+len`, if it lies inside a memory of `mem_len` bytes.
pub fn range(mem_len: usize, ptr: u32, len: u32) -> Result<Range<usize>, Fault> {
    let start = ptr as usize;
    let end = start.checked_add(len as usize).ok_or(Fault)?;
    if end > mem_len {
        return Err(Fault);
    }
    Ok(start..end)
}

/// `len` bytes at `ptr`.
pub fn read(mem: &[u8], ptr: u32, len: u32) -> Result<&[u8], Fault> {
    let r = range(mem.len(), ptr, len)?;
    Ok(&mem[r])
}

/// `len` writable bytes at `ptr`.
pub fn read_mut(mem: &mut [u8], ptr: u32, len: u32) -> Result<&mut [u8], Fault> {
    let r = range(mem.len(), ptr, len)?;
    Ok(&mut mem[r])
}

/// A little-endian u32 at `ptr`.
pub fn read_u32(mem: &[u8], ptr: u32) -> Result<u32, Fault> {
    let b = read(mem, ptr, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Copies `bytes` to `ptr`.
pub fn write(mem: &mut [u8], ptr: u32, bytes: &[u8]) -> Result<(), Fault> {
    let len = u32::try_from(bytes.len()).map_err(|_| Fault)?;
    read_mut(mem, ptr, len)?.copy_from_slice(bytes);
    Ok(())
}

pub fn write_u32(mem: &mut [u8], ptr: u32, value: u32) -> Result<(), Fault> {
    write(mem, ptr, &value.to_le_bytes())
}

pub fn write_u64(mem: &mut [u8], ptr: u32, value: u64) -> Result<(), Fault> {
    write(mem, ptr, &value.to_le_bytes())
}

/// Checks that `len` bytes at `ptr` could be written, without writing.
pub fn check(mem: &[u8], ptr: u32, len: u32) -> Result<(), Fault> {
    range(mem.len(), ptr, len).map(|_| ())
}

/// Allocates `size` bytes in the guest (`proxy_on_memory_allocate` / `malloc`). `Ok(None)` when
/// the guest has no allocator, returns 0, or returns a block that does not fit in its memory; an
/// `Err` is a trap inside the allocator (it ends the callback).
pub fn alloc(caller: &mut Caller<'_, Host>, size: u32) -> wasmtime::Result<Option<u32>> {
    let Some(allocate) = caller.data().alloc.clone() else {
        return Ok(None);
    };
    let ptr = allocate.call(&mut *caller, size)?;
    if ptr == 0 {
        return Ok(None);
    }
    let Some(memory) = caller.data().memory else {
        return Ok(None);
    };
    match range(memory.data_size(&*caller), ptr, size) {
        Ok(_) => Ok(Some(ptr)),
        Err(Fault) => Ok(None),
    }
}

/// Envoy's `copyToPointerSize`: allocates `len` bytes in the guest, lets `fill` write them
/// (from the host state, so nothing is copied twice), and stores the block's address and length
/// at `ptr_ptr` and `size_ptr`. An empty value is returned as address 0, length 0, without an
/// allocation. Both return slots are checked before anything is allocated.
pub fn copy_out(
    caller: &mut Caller<'_, Host>,
    len: usize,
    ptr_ptr: u32,
    size_ptr: u32,
    fill: impl FnOnce(&Host, &mut [u8]),
) -> wasmtime::Result<Status> {
    let Some(memory) = caller.data().memory else {
        return Ok(Status::InvalidMemoryAccess);
    };
    {
        let data = memory.data(&*caller);
        if check(data, ptr_ptr, 4).is_err() || check(data, size_ptr, 4).is_err() {
            return Ok(Status::InvalidMemoryAccess);
        }
    }
    let (ptr, len32) = if len == 0 {
        (0, 0)
    } else {
        let Ok(len32) = u32::try_from(len) else {
            return Ok(Status::InvalidMemoryAccess);
        };
        let Some(ptr) = alloc(caller, len32)? else {
            return Ok(Status::InvalidMemoryAccess);
        };
        (ptr, len32)
    };
    let (data, host) = memory.data_and_store_mut(&mut *caller);
    if len32 > 0 {
        match read_mut(data, ptr, len32) {
            Ok(dst) => fill(host, dst),
            Err(f) => return Ok(f.into()),
        }
    }
    // Checked above; the allocation may have grown the memory, never shrunk it.
    if write_u32(data, ptr_ptr, ptr).is_err() || write_u32(data, size_ptr, len32).is_err() {
        return Ok(Status::InvalidMemoryAccess);
    }
    Ok(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_without_overflow() {
        assert_eq!(range(10, 0, 10), Ok(0..10));
        assert_eq!(range(10, 10, 0), Ok(10..10));
        assert_eq!(range(10, 10, 1), Err(Fault));
        assert_eq!(range(10, 11, 0), Err(Fault));
        assert_eq!(range(10, u32::MAX, u32::MAX), Err(Fault));
        assert_eq!(
            range(usize::MAX, u32::MAX, u32::MAX).map(|r| r.len()),
            Ok(u32::MAX as usize)
        );
    }

    #[test]
    fn reads_and_writes_stay_in_bounds() {
        let mut mem = vec![0u8; 16];
        assert_eq!(write_u32(&mut mem, 12, 0xdead_beef), Ok(()));
        assert_eq!(read_u32(&mem, 12), Ok(0xdead_beef));
        assert_eq!(write_u32(&mut mem, 13, 1), Err(Fault));
        assert_eq!(read_u32(&mem, 13), Err(Fault));
        assert_eq!(write_u64(&mut mem, 8, u64::MAX), Ok(()));
        assert_eq!(write_u64(&mut mem, 9, 1), Err(Fault));
        assert_eq!(read(&mem, 0, 17), Err(Fault));
        assert_eq!(read(&mem, 16, 0), Ok(&[][..]));
        assert_eq!(write(&mut mem, u32::MAX, b"x"), Err(Fault));
        assert_eq!(check(&mem, 0, 16), Ok(()));
        assert_eq!(Status::from(Fault), Status::InvalidMemoryAccess);
    }
}
