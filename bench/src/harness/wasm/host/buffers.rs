//! Buffers: the request and response bodies, the VM and plugin configurations, the http call's
//! response body (`proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`, `proxy_get_buffer_status`).

use std::ops::Range;

use wasmtime::Caller;

use super::super::abi::{buffer, Status};
use super::super::memory;
use super::{fill, ok, Host, R};

/// Envoy's `Buffer::copyFrom`: `start == 0` drains `length` bytes and prepends the data
/// (so `(0, len)` replaces the whole buffer and `(0, 0)` prepends); `start >= size` appends;
/// anything else is `BadArgument`.
fn copy_from(buf: &mut Vec<u8>, start: usize, length: usize, data: &[u8]) -> Status {
    if start == 0 {
        let drain = length.min(buf.len());
        buf.splice(0..drain, data.iter().copied());
        Status::Ok
    } else if start >= buf.len() {
        buf.extend_from_slice(data);
        Status::Ok
    } else {
        Status::BadArgument
    }
}

impl Host {
    /// Envoy's `getBuffer` for reading.
    pub(super) fn read_buffer(&self, buffer_type: u32) -> Result<&[u8], Status> {
        match buffer_type {
            buffer::HTTP_REQUEST_BODY => match self.stream() {
                Some(s) if s.request_body_open => Ok(&s.request_body),
                Some(_) => Ok(&[]),
                None => Err(Status::NotFound),
            },
            buffer::HTTP_RESPONSE_BODY => match self.stream() {
                Some(s) if s.response_body_open => Ok(&s.response_body),
                Some(_) => Ok(&[]),
                None => Err(Status::NotFound),
            },
            buffer::HTTP_CALL_RESPONSE_BODY => match &self.call_response {
                Some(r) => Ok(&r.body),
                None => Err(Status::NotFound),
            },
            buffer::VM_CONFIGURATION => Ok(&self.vm_config),
            buffer::PLUGIN_CONFIGURATION if self.configuring => Ok(&self.plugin_config),
            buffer::PLUGIN_CONFIGURATION
            | buffer::DOWNSTREAM_DATA
            | buffer::UPSTREAM_DATA
            | buffer::GRPC_CALL_MESSAGE
            | buffer::FOREIGN_FUNCTION_ARGUMENTS => Err(Status::NotFound),
            _ => Err(Status::BadArgument),
        }
    }

    /// The bytes `proxy_get_buffer_bytes(start, max_size)` returns: at most `max_size` from
    /// `start`, which must lie within the buffer.
    pub(super) fn buffer_range(
        &self,
        buffer_type: u32,
        start: u32,
        max_size: u32,
    ) -> Result<Range<usize>, Status> {
        let buf = self.read_buffer(buffer_type)?;
        if start.checked_add(max_size).is_none() || start as usize > buf.len() {
            return Err(Status::BadArgument);
        }
        let start = start as usize;
        Ok(start..start + (max_size as usize).min(buf.len() - start))
    }

    /// `proxy_set_buffer_bytes`: only the bodies the filter currently holds can change.
    pub(super) fn set_buffer_bytes(
        &mut self,
        buffer_type: u32,
        start: usize,
        length: usize,
        value: &[u8],
    ) -> Status {
        match buffer_type {
            buffer::HTTP_REQUEST_BODY => match self.stream_mut() {
                Some(s) if s.request_body_open && !s.access_log => {
                    copy_from(&mut s.request_body, start, length, value)
                }
                _ => Status::NotFound,
            },
            buffer::HTTP_RESPONSE_BODY => match self.stream_mut() {
                Some(s) if s.response_body_open && !s.access_log => {
                    copy_from(&mut s.response_body, start, length, value)
                }
                _ => Status::NotFound,
            },
            // Read-only (Envoy's const buffers), or not there.
            buffer::HTTP_CALL_RESPONSE_BODY
            | buffer::VM_CONFIGURATION
            | buffer::PLUGIN_CONFIGURATION => Status::BadArgument,
            buffer::DOWNSTREAM_DATA
            | buffer::UPSTREAM_DATA
            | buffer::GRPC_CALL_MESSAGE
            | buffer::FOREIGN_FUNCTION_ARGUMENTS => Status::NotFound,
            _ => Status::BadArgument,
        }
    }
}

pub(super) fn proxy_get_buffer_bytes(
    mut caller: Caller<'_, Host>,
    buffer_type: u32,
    start: u32,
    max_size: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let range = match caller.data().buffer_range(buffer_type, start, max_size) {
        Ok(range) => range,
        Err(status) => return ok(status),
    };
    if range.is_empty() {
        // Envoy returns Ok without touching the return slots.
        return ok(Status::Ok);
    }
    let status = memory::copy_out(&mut caller, range.len(), ptr_ptr, size_ptr, |host, dst| {
        if let Ok(buf) = host.read_buffer(buffer_type) {
            fill(dst, buf.get(range.start..).unwrap_or_default());
        }
    })?;
    ok(status)
}

pub(super) fn proxy_get_buffer_status(
    mut caller: Caller<'_, Host>,
    buffer_type: u32,
    size_ptr: u32,
    flags_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let size = match host.read_buffer(buffer_type) {
        Ok(b) => b.len(),
        Err(s) => return ok(s),
    };
    tri!(memory::check(data, flags_ptr, 4));
    tri!(memory::write_u32(data, size_ptr, size as u32));
    tri!(memory::write_u32(data, flags_ptr, 0));
    ok(Status::Ok)
}

pub(super) fn proxy_set_buffer_bytes(
    mut caller: Caller<'_, Host>,
    buffer_type: u32,
    start: u32,
    length: u32,
    data_ptr: u32,
    data_size: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let value = tri!(memory::read(data, data_ptr, data_size));
    host.charge(value.len(), "body bytes set")?;
    ok(host.set_buffer_bytes(buffer_type, start as usize, length as usize, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Env, LogLevel};

    #[test]
    fn buffer_copy_from_follows_envoy() {
        let mut b = b"hello".to_vec();
        assert_eq!(copy_from(&mut b, 0, 0, b">"), Status::Ok);
        assert_eq!(b, b">hello");
        assert_eq!(copy_from(&mut b, 0, 6, b"new"), Status::Ok);
        assert_eq!(b, b"new");
        assert_eq!(copy_from(&mut b, 0, 100, b"all"), Status::Ok);
        assert_eq!(b, b"all");
        assert_eq!(copy_from(&mut b, 3, 0, b"+"), Status::Ok);
        assert_eq!(b, b"all+");
        assert_eq!(copy_from(&mut b, u32::MAX as usize, 0, b"!"), Status::Ok);
        assert_eq!(b, b"all+!");
        assert_eq!(copy_from(&mut b, 1, 1, b"x"), Status::BadArgument);
        assert_eq!(copy_from(&mut b, 0, 2, b"A"), Status::Ok);
        assert_eq!(b, b"Al+!");
    }

    fn host() -> Host {
        let env = Env::new(serde_json::json!({"k": 1}));
        Host::new("t".into(), env, Default::default(), LogLevel::Info)
    }

    #[test]
    fn bodies_are_there_only_while_the_stream_holds_them() {
        let mut h = host();
        let body = buffer::HTTP_REQUEST_BODY;
        assert_eq!(h.read_buffer(body), Err(Status::NotFound), "no stream");
        assert_eq!(h.set_buffer_bytes(body, 0, 0, b"x"), Status::NotFound);
        h.stream.id = 2;
        h.effective = 2;
        h.stream.request_body = b"hello".to_vec();
        assert_eq!(h.read_buffer(body), Ok(&b""[..]), "not yet delivered");
        h.stream.request_body_open = true;
        assert_eq!(h.buffer_range(body, 1, 3), Ok(1..4));
        assert_eq!(h.buffer_range(body, 4, 100), Ok(4..5));
        assert_eq!(h.buffer_range(body, 6, 0), Err(Status::BadArgument));
        assert_eq!(h.buffer_range(body, 1, u32::MAX), Err(Status::BadArgument));
        assert_eq!(h.set_buffer_bytes(body, 0, 5, b"bye"), Status::Ok);
        assert_eq!(h.read_buffer(body), Ok(&b"bye"[..]));
        h.effective = 1;
        assert_eq!(
            h.read_buffer(body),
            Err(Status::NotFound),
            "not the stream's context"
        );
        assert_eq!(h.read_buffer(99), Err(Status::BadArgument));
    }

    #[test]
    fn the_plugin_configuration_is_readable_while_configuring() {
        let mut h = host();
        let config = buffer::PLUGIN_CONFIGURATION;
        assert_eq!(h.read_buffer(config), Err(Status::NotFound));
        h.configuring = true;
        assert_eq!(h.read_buffer(config), Ok(&br#"{"k":1}"#[..]));
        assert_eq!(h.set_buffer_bytes(config, 0, 0, b"x"), Status::BadArgument);
    }
}
