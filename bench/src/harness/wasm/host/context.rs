//! Properties (`proxy_get_property`, `proxy_set_property`; what they hold is in
//! `../properties.rs`), the effective context, `proxy_done`, and foreign functions (none).

use wasmtime::Caller;

use super::super::abi::Status;
use super::super::memory;
use super::super::properties;
use super::{fill, ok, Host, R};

impl Host {
    /// `proxy_set_effective_context`: the root context or the stream's.
    pub(super) fn set_effective_context(&mut self, context_id: u32) -> Status {
        if context_id == self.root_id || (self.stream.id != 0 && context_id == self.stream.id) {
            self.effective = context_id;
            Status::Ok
        } else {
            Status::BadArgument
        }
    }

    /// `proxy_done`: the effective context finishes a `proxy_on_done` that returned false.
    pub(super) fn done(&mut self) -> Status {
        let ctx = self.effective;
        match self.done_pending.iter().position(|&c| c == ctx) {
            Some(i) => {
                self.done_pending.swap_remove(i);
                Status::Ok
            }
            None => Status::NotFound,
        }
    }
}

pub(super) fn proxy_get_property(
    mut caller: Caller<'_, Host>,
    path_ptr: u32,
    path_size: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let value = {
        let (data, host) = split_or_fault!(&mut caller);
        let path = tri!(memory::read(data, path_ptr, path_size));
        match properties::get(host, path) {
            Some(v) => v,
            None => return ok(Status::NotFound),
        }
    };
    let status = memory::copy_out(&mut caller, value.len(), ptr_ptr, size_ptr, |_, dst| {
        fill(dst, &value)
    })?;
    ok(status)
}

pub(super) fn proxy_set_property(
    mut caller: Caller<'_, Host>,
    path_ptr: u32,
    path_size: u32,
    value_ptr: u32,
    value_size: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let path = tri!(memory::read(data, path_ptr, path_size));
    let value = tri!(memory::read(data, value_ptr, value_size));
    host.charge(path.len() + value.len(), "properties set")?;
    ok(properties::set(host, path, value))
}

pub(super) fn proxy_set_effective_context(mut caller: Caller<'_, Host>, context_id: u32) -> R {
    ok(caller.data_mut().set_effective_context(context_id))
}

pub(super) fn proxy_done(mut caller: Caller<'_, Host>) -> R {
    ok(caller.data_mut().done())
}

pub(super) fn proxy_call_foreign_function(
    mut caller: Caller<'_, Host>,
    name_ptr: u32,
    name_size: u32,
    args_ptr: u32,
    args_size: u32,
    _ptr_ptr: u32,
    _size_ptr: u32,
) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::check(data, name_ptr, name_size));
    tri!(memory::check(data, args_ptr, args_size));
    // No foreign functions are registered in the harness.
    ok(Status::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Env, LogLevel};

    #[test]
    fn contexts_follow_envoy() {
        let env = Env::new(serde_json::json!({}));
        let mut h = Host::new("t".into(), env, Default::default(), LogLevel::Info);
        h.root_id = 1;
        assert_eq!(
            h.set_effective_context(2),
            Status::BadArgument,
            "no stream yet"
        );
        h.stream.id = 2;
        assert_eq!(h.set_effective_context(2), Status::Ok);
        assert_eq!(h.effective, 2);
        assert_eq!(h.set_effective_context(1), Status::Ok);
        assert_eq!(
            h.done(),
            Status::NotFound,
            "proxy_on_done did not ask to wait"
        );
        h.done_pending.push(1);
        assert_eq!(h.done(), Status::Ok);
        assert_eq!(h.done(), Status::NotFound);
    }
}
