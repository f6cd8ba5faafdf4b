//! Shared data and shared queues: state shared by every VM of one compiled filter (Envoy: per
//! `vm_id`, across workers), and the `proxy_*_shared_data` / `proxy_*_shared_queue` adapters.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

use wasmtime::Caller;

use super::super::abi::Status;
use super::super::memory;
use super::{fill, ok, Event, Host, HostMemoryExceeded, EVENT_BYTES, R};

/// Shared data: key -> (value, compare-and-swap token).
type SharedData = HashMap<Vec<u8>, (Vec<u8>, u32)>;

/// State shared by every VM of one compiled filter (Envoy: per `vm_id`, across workers): shared
/// data and shared queues.
#[derive(Debug, Default)]
pub struct Shared {
    pub(in crate::harness::wasm) data: Mutex<SharedData>,
    next_cas: AtomicU32,
    queues: Mutex<Queues>,
    /// Bytes held in shared data (keys and values) and queued items.
    held: AtomicUsize,
}

#[derive(Debug, Default)]
struct Queues {
    by_name: HashMap<Vec<u8>, u32>,
    queues: HashMap<u32, Queue>,
    next_id: u32,
}

#[derive(Debug)]
struct Queue {
    /// The VM that registered the queue and its root context: `proxy_on_queue_ready` goes there.
    owner_vm: u64,
    owner_root: u32,
    items: VecDeque<Vec<u8>>,
}

impl Shared {
    fn next_cas(&self) -> u32 {
        loop {
            let cas = self
                .next_cas
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(1);
            if cas != 0 {
                return cas;
            }
        }
    }

    /// Bytes held in shared data (keys and values) and queued items.
    pub fn held_bytes(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    fn queues(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value under `key` and its compare-and-swap token.
    pub fn get_data(&self, key: &[u8]) -> Option<(Vec<u8>, u32)> {
        let map = self.data.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).map(|(v, cas)| (v.clone(), *cas))
    }

    /// Stores `value` under `key` with a new token; `cas` other than 0 must be the current token
    /// (`CasMismatch` otherwise).
    pub fn set_data(&self, key: &[u8], value: &[u8], cas: u32) -> Status {
        let mut map = self.data.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(key) {
            Some(entry) => {
                if cas != 0 && cas != entry.1 {
                    return Status::CasMismatch;
                }
                self.held.fetch_sub(entry.0.len(), Ordering::Relaxed);
                self.held.fetch_add(value.len(), Ordering::Relaxed);
                *entry = (value.to_vec(), self.next_cas());
            }
            None => {
                self.held
                    .fetch_add(key.len() + value.len(), Ordering::Relaxed);
                map.insert(key.to_vec(), (value.to_vec(), self.next_cas()));
            }
        }
        Status::Ok
    }

    /// The queue `name`'s id, registering it; the registering VM and root context become its
    /// owner (a second registration takes the queue over, as in Envoy).
    pub fn register_queue(&self, name: &[u8], vm: u64, root: u32) -> u32 {
        let mut q = self.queues();
        if let Some(&id) = q.by_name.get(name) {
            if let Some(queue) = q.queues.get_mut(&id) {
                queue.owner_vm = vm;
                queue.owner_root = root;
            }
            return id;
        }
        q.next_id = q.next_id.wrapping_add(1).max(1);
        let id = q.next_id;
        q.by_name.insert(name.to_vec(), id);
        q.queues.insert(
            id,
            Queue {
                owner_vm: vm,
                owner_root: root,
                items: VecDeque::new(),
            },
        );
        id
    }

    pub fn resolve_queue(&self, name: &[u8]) -> Option<u32> {
        self.queues().by_name.get(name).copied()
    }

    /// Appends `value` to queue `id`. `Ok(Some(root))` when VM `vm` owns the queue: its root
    /// context `root` is to get `proxy_on_queue_ready`.
    pub fn enqueue(&self, id: u32, value: &[u8], vm: u64) -> Result<Option<u32>, Status> {
        let mut q = self.queues();
        let queue = q.queues.get_mut(&id).ok_or(Status::NotFound)?;
        queue.items.push_back(value.to_vec());
        self.held.fetch_add(value.len(), Ordering::Relaxed);
        Ok((queue.owner_vm == vm).then_some(queue.owner_root))
    }

    /// The oldest item of queue `id` (`Empty` when there is none).
    pub fn dequeue(&self, id: u32) -> Result<Vec<u8>, Status> {
        let mut q = self.queues();
        let queue = q.queues.get_mut(&id).ok_or(Status::NotFound)?;
        let item = queue.items.pop_front().ok_or(Status::Empty)?;
        self.held.fetch_sub(item.len(), Ordering::Relaxed);
        Ok(item)
    }
}

impl Host {
    /// Counts `n` more bytes kept in shared data or queues: against what they hold already
    /// (they outlive the request) and against the unit of work's copies.
    fn keep_shared(&mut self, n: usize) -> wasmtime::Result<()> {
        let wanted = self.shared.held_bytes().saturating_add(n);
        if wanted > self.limiter.max_bytes {
            return Err(wasmtime::Error::new(HostMemoryExceeded {
                wanted,
                limit: self.limiter.max_bytes,
                what: "shared data and queues",
            }));
        }
        self.charge(n, "shared data and queues")
    }

    /// `proxy_resolve_shared_queue`: only this plugin's VM id (or none) is known to the harness.
    pub(super) fn resolve_shared_queue(&self, vm_id: &[u8], name: &[u8]) -> Result<u32, Status> {
        if !vm_id.is_empty() && vm_id != self.name.as_bytes() {
            return Err(Status::NotFound);
        }
        self.shared.resolve_queue(name).ok_or(Status::NotFound)
    }

    /// `proxy_enqueue_shared_queue`: the owner's root context is notified after this callback
    /// when it is in this VM.
    pub(super) fn enqueue_shared_queue(&mut self, id: u32, value: &[u8]) -> Status {
        match self.shared.enqueue(id, value, self.vm_id) {
            Ok(Some(root)) => {
                self.events.push_back(Event::QueueReady { root, queue: id });
                Status::Ok
            }
            Ok(None) => Status::Ok,
            Err(status) => status,
        }
    }
}

pub(super) fn proxy_get_shared_data(
    mut caller: Caller<'_, Host>,
    key_ptr: u32,
    key_size: u32,
    ptr_ptr: u32,
    size_ptr: u32,
    cas_ptr: u32,
) -> R {
    let (value, cas) = {
        let (data, host) = split_or_fault!(&mut caller);
        let key = tri!(memory::read(data, key_ptr, key_size));
        tri!(memory::check(data, cas_ptr, 4));
        match host.shared.get_data(key) {
            Some(found) => found,
            None => return ok(Status::NotFound),
        }
    };
    let status = memory::copy_out(&mut caller, value.len(), ptr_ptr, size_ptr, |_, dst| {
        fill(dst, &value)
    })?;
    if status != Status::Ok {
        return ok(status);
    }
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::write_u32(data, cas_ptr, cas));
    ok(Status::Ok)
}

pub(super) fn proxy_set_shared_data(
    mut caller: Caller<'_, Host>,
    key_ptr: u32,
    key_size: u32,
    value_ptr: u32,
    value_size: u32,
    cas: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let key = tri!(memory::read(data, key_ptr, key_size));
    let value = tri!(memory::read(data, value_ptr, value_size));
    host.keep_shared(key.len() + value.len())?;
    ok(host.shared.set_data(key, value, cas))
}

pub(super) fn proxy_register_shared_queue(
    mut caller: Caller<'_, Host>,
    name_ptr: u32,
    name_size: u32,
    id_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let name = tri!(memory::read(data, name_ptr, name_size));
    tri!(memory::check(data, id_ptr, 4));
    let id = host.shared.register_queue(name, host.vm_id, host.root_id);
    tri!(memory::write_u32(data, id_ptr, id));
    ok(Status::Ok)
}

pub(super) fn proxy_resolve_shared_queue(
    mut caller: Caller<'_, Host>,
    vm_id_ptr: u32,
    vm_id_size: u32,
    name_ptr: u32,
    name_size: u32,
    id_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let vm_id = tri!(memory::read(data, vm_id_ptr, vm_id_size));
    let name = tri!(memory::read(data, name_ptr, name_size));
    tri!(memory::check(data, id_ptr, 4));
    let id = match host.resolve_shared_queue(vm_id, name) {
        Ok(id) => id,
        Err(status) => return ok(status),
    };
    tri!(memory::write_u32(data, id_ptr, id));
    ok(Status::Ok)
}

pub(super) fn proxy_enqueue_shared_queue(
    mut caller: Caller<'_, Host>,
    id: u32,
    value_ptr: u32,
    value_size: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let value = tri!(memory::read(data, value_ptr, value_size));
    host.keep_shared(value.len() + EVENT_BYTES)?;
    ok(host.enqueue_shared_queue(id, value))
}

pub(super) fn proxy_dequeue_shared_queue(
    mut caller: Caller<'_, Host>,
    id: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let item = match caller.data().shared.dequeue(id) {
        Ok(item) => item,
        Err(status) => return ok(status),
    };
    let status = memory::copy_out(&mut caller, item.len(), ptr_ptr, size_ptr, |_, dst| {
        fill(dst, &item)
    })?;
    ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_data_compare_and_swap() {
        let s = Shared::default();
        assert_eq!(s.get_data(b"k"), None);
        assert_eq!(s.set_data(b"k", b"1", 0), Status::Ok);
        let (v, cas) = s.get_data(b"k").unwrap();
        assert_eq!((v.as_slice(), cas != 0), (&b"1"[..], true));
        assert_eq!(
            s.set_data(b"k", b"2", cas.wrapping_add(1)),
            Status::CasMismatch
        );
        assert_eq!(s.set_data(b"k", b"2", cas), Status::Ok);
        assert_eq!(
            s.set_data(b"k", b"3", cas),
            Status::CasMismatch,
            "the token changed"
        );
        assert_eq!(s.get_data(b"k").unwrap().0, b"2");
    }

    #[test]
    fn queues_notify_their_owner_only() {
        let s = Shared::default();
        let id = s.register_queue(b"q", 7, 1);
        assert_eq!(s.register_queue(b"q", 7, 1), id, "same name, same queue");
        assert_eq!(s.resolve_queue(b"q"), Some(id));
        assert_eq!(s.resolve_queue(b"other"), None);
        assert_eq!(s.dequeue(id), Err(Status::Empty));
        assert_eq!(s.enqueue(id, b"a", 7), Ok(Some(1)));
        assert_eq!(
            s.enqueue(id, b"b", 8),
            Ok(None),
            "another VM is not the owner"
        );
        assert_eq!(s.enqueue(id + 1, b"c", 7), Err(Status::NotFound));
        assert_eq!(s.dequeue(id), Ok(b"a".to_vec()));
        assert_eq!(s.dequeue(id), Ok(b"b".to_vec()));
        assert_eq!(s.dequeue(id + 1), Err(Status::NotFound));
    }
}
