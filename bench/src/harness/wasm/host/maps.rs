//! Header maps: `proxy_get_header_map_pairs`, `proxy_set_header_map_pairs`,
//! `proxy_get_header_map_size`, `proxy_get_header_map_value`, and adding, replacing and removing
//! a value. Which map exists when follows Envoy's pointers (see `Host::read_map`).

use wasmtime::Caller;

use super::super::abi::{map, Status};
use super::super::headers::{self, HeaderMap};
use super::super::memory;
use super::{fill, ok, Host, R};

/// What Envoy's `getConstMap` finds.
pub(super) enum MapRead<'a> {
    Map(&'a HeaderMap),
    /// The map exists and is empty.
    Empty,
    /// Envoy's map pointer is null (not available in this callback).
    Null,
    /// Not a map type.
    Unknown,
}

impl Host {
    /// Envoy's `getConstMap`.
    pub(super) fn read_map(&self, map_type: u32) -> MapRead<'_> {
        let s = self.stream();
        match map_type {
            map::HTTP_REQUEST_HEADERS => match s {
                Some(s) if s.access_log || s.request_headers_open => {
                    MapRead::Map(&s.request_headers)
                }
                _ => MapRead::Null,
            },
            map::HTTP_RESPONSE_HEADERS => match s {
                Some(s) if (s.access_log && s.response_started) || s.response_headers_open => {
                    MapRead::Map(&s.response_headers)
                }
                _ => MapRead::Null,
            },
            map::HTTP_CALL_RESPONSE_HEADERS => match &self.call_response {
                Some(r) => MapRead::Map(&r.headers),
                None => MapRead::Null,
            },
            map::HTTP_CALL_RESPONSE_TRAILERS => match &self.call_response {
                Some(_) => MapRead::Empty,
                None => MapRead::Null,
            },
            // No trailers in the model; no gRPC.
            map::HTTP_REQUEST_TRAILERS
            | map::HTTP_RESPONSE_TRAILERS
            | map::GRPC_CALL_INITIAL_METADATA
            | map::GRPC_CALL_TRAILING_METADATA => MapRead::Null,
            _ => MapRead::Unknown,
        }
    }

    /// Envoy's `getMap` (mutable): request headers until they are continued, response headers
    /// until they are continued; nothing else can be modified.
    pub(super) fn write_map(&mut self, map_type: u32) -> Option<&mut HeaderMap> {
        let s = self.stream_mut()?;
        if s.access_log {
            return None;
        }
        match map_type {
            map::HTTP_REQUEST_HEADERS if s.request_headers_open => Some(&mut s.request_headers),
            map::HTTP_RESPONSE_HEADERS if s.response_headers_open => Some(&mut s.response_headers),
            _ => None,
        }
    }

    /// The size of the serialised pairs `proxy_get_header_map_pairs` returns (an empty or
    /// unavailable map is 0).
    pub(super) fn header_map_pairs_len(&self, map_type: u32) -> Result<usize, Status> {
        match self.read_map(map_type) {
            MapRead::Unknown => Err(Status::BadArgument),
            MapRead::Map(m) => Ok(m.serialized_len()),
            MapRead::Empty | MapRead::Null => Ok(0),
        }
    }

    /// `proxy_get_header_map_value`: the first value of `key`. An unavailable map is
    /// `BadArgument`, except in `proxy_on_log` (`NotFound`).
    pub(super) fn header_map_value(&self, map_type: u32, key: &[u8]) -> Result<&[u8], Status> {
        match self.read_map(map_type) {
            MapRead::Unknown => Err(Status::BadArgument),
            MapRead::Null if self.in_access_log() => Err(Status::NotFound),
            MapRead::Null => Err(Status::BadArgument),
            MapRead::Empty => Err(Status::NotFound),
            MapRead::Map(m) => m.get(key).ok_or(Status::NotFound),
        }
    }

    /// `proxy_get_header_map_size`: only of a map the filter may modify.
    pub(super) fn header_map_size(&mut self, map_type: u32) -> Result<usize, Status> {
        self.write_map(map_type)
            .map(|m| m.byte_size())
            .ok_or(Status::BadArgument)
    }

    /// `proxy_set_header_map_pairs`.
    pub(super) fn set_header_map_pairs(
        &mut self,
        map_type: u32,
        pairs: &[(&[u8], &[u8])],
    ) -> Status {
        self.modify_map(map_type, |m| m.set_all(pairs))
    }

    /// Applies `f` to the writable map `map_type` (`BadArgument` when there is none).
    fn modify_map(&mut self, map_type: u32, f: impl FnOnce(&mut HeaderMap)) -> Status {
        match self.write_map(map_type) {
            Some(m) => {
                f(m);
                Status::Ok
            }
            None => Status::BadArgument,
        }
    }

    /// `proxy_add_header_map_value`, `proxy_replace_header_map_value`,
    /// `proxy_remove_header_map_value` (`value` is `None`).
    pub(super) fn edit_header_map(
        &mut self,
        map_type: u32,
        edit: Edit,
        key: &[u8],
        value: &[u8],
    ) -> Status {
        if map_type > map::HTTP_CALL_RESPONSE_TRAILERS {
            return Status::BadArgument;
        }
        self.modify_map(map_type, |m| match edit {
            Edit::Add => m.add(key, value),
            Edit::Replace => m.replace(key, value),
            Edit::Remove => m.remove(key),
        })
    }
}

/// A change of one header.
#[derive(Debug, Clone, Copy)]
pub(super) enum Edit {
    Add,
    Replace,
    Remove,
}

pub(super) fn proxy_get_header_map_pairs(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let len = match caller.data().header_map_pairs_len(map_type) {
        Ok(len) => len,
        Err(status) => return ok(status),
    };
    let status = memory::copy_out(&mut caller, len, ptr_ptr, size_ptr, |host, dst| match host
        .read_map(map_type)
    {
        MapRead::Map(m) if m.serialized_len() == dst.len() => m.serialize_into(dst),
        _ => dst.fill(0),
    })?;
    ok(status)
}

pub(super) fn proxy_set_header_map_pairs(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    ptr: u32,
    size: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let bytes = tri!(memory::read(data, ptr, size));
    host.charge(bytes.len(), "header maps set")?;
    let Ok(pairs) = headers::parse(bytes) else {
        return ok(Status::BadArgument);
    };
    ok(host.set_header_map_pairs(map_type, &pairs))
}

pub(super) fn proxy_get_header_map_size(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    ret: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let size = match host.header_map_size(map_type) {
        Ok(size) => size,
        Err(status) => return ok(status),
    };
    tri!(memory::write_u32(data, ret, size as u32));
    ok(Status::Ok)
}

pub(super) fn proxy_get_header_map_value(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    key_ptr: u32,
    key_size: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let (key, len) = {
        let (data, host) = split_or_fault!(&mut caller);
        let key = tri!(memory::read(data, key_ptr, key_size));
        match host.header_map_value(map_type, key) {
            Ok(value) => (key.to_vec(), value.len()),
            Err(status) => return ok(status),
        }
    };
    let status = memory::copy_out(&mut caller, len, ptr_ptr, size_ptr, |host, dst| {
        if let MapRead::Map(m) = host.read_map(map_type) {
            fill(dst, m.get(&key).unwrap_or_default());
        }
    })?;
    ok(status)
}

/// Reads a key and a value (none for `Remove`) from guest memory and edits the map.
fn edit_map(
    caller: &mut Caller<'_, Host>,
    map_type: u32,
    edit: Edit,
    key: (u32, u32),
    value: Option<(u32, u32)>,
) -> R {
    let (data, host) = split_or_fault!(caller);
    let k = tri!(memory::read(data, key.0, key.1));
    let v = match value {
        Some((p, l)) => tri!(memory::read(data, p, l)),
        None => &[],
    };
    host.charge(k.len() + v.len(), "header values added or replaced")?;
    ok(host.edit_header_map(map_type, edit, k, v))
}

pub(super) fn proxy_add_header_map_value(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    key_ptr: u32,
    key_size: u32,
    value_ptr: u32,
    value_size: u32,
) -> R {
    let value = Some((value_ptr, value_size));
    edit_map(&mut caller, map_type, Edit::Add, (key_ptr, key_size), value)
}

pub(super) fn proxy_replace_header_map_value(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    key_ptr: u32,
    key_size: u32,
    value_ptr: u32,
    value_size: u32,
) -> R {
    let value = Some((value_ptr, value_size));
    edit_map(
        &mut caller,
        map_type,
        Edit::Replace,
        (key_ptr, key_size),
        value,
    )
}

pub(super) fn proxy_remove_header_map_value(
    mut caller: Caller<'_, Host>,
    map_type: u32,
    key_ptr: u32,
    key_size: u32,
) -> R {
    edit_map(
        &mut caller,
        map_type,
        Edit::Remove,
        (key_ptr, key_size),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Env, LogLevel};

    fn host_with_request_headers() -> Host {
        let env = Env::new(serde_json::json!({}));
        let mut h = Host::new("t".into(), env, Default::default(), LogLevel::Info);
        h.stream.id = 2;
        h.effective = 2;
        h.stream.request_headers.add(b"a", b"1");
        h.stream.request_headers.add(b"a", b"2");
        h
    }

    #[test]
    fn request_headers_follow_envoys_pointer() {
        let mut h = host_with_request_headers();
        let req = map::HTTP_REQUEST_HEADERS;
        // Before the headers callback (or after they are continued): no map.
        assert_eq!(h.header_map_value(req, b"a"), Err(Status::BadArgument));
        assert_eq!(h.header_map_pairs_len(req), Ok(0));
        assert_eq!(
            h.edit_header_map(req, Edit::Add, b"b", b"x"),
            Status::BadArgument
        );
        h.stream.request_headers_open = true;
        assert_eq!(
            h.header_map_value(req, b"a"),
            Ok(&b"1"[..]),
            "the first value"
        );
        assert_eq!(h.header_map_value(req, b"zz"), Err(Status::NotFound));
        assert_eq!(
            h.edit_header_map(req, Edit::Replace, b"a", b"3"),
            Status::Ok
        );
        assert_eq!(h.header_map_value(req, b"a"), Ok(&b"3"[..]));
        assert_eq!(h.edit_header_map(req, Edit::Remove, b"a", b""), Status::Ok);
        assert_eq!(h.header_map_value(req, b"a"), Err(Status::NotFound));
        assert_eq!(
            h.set_header_map_pairs(req, &[(&b"x"[..], &b"y"[..])]),
            Status::Ok
        );
        assert_eq!(h.header_map_value(req, b"x"), Ok(&b"y"[..]));
        assert_eq!(h.header_map_value(99, b"x"), Err(Status::BadArgument));
        assert_eq!(
            h.edit_header_map(99, Edit::Add, b"b", b"x"),
            Status::BadArgument
        );
    }

    #[test]
    fn in_the_access_log_headers_are_read_only() {
        let mut h = host_with_request_headers();
        h.stream.access_log = true;
        let req = map::HTTP_REQUEST_HEADERS;
        assert_eq!(h.header_map_value(req, b"a"), Ok(&b"1"[..]));
        assert_eq!(h.header_map_size(req), Err(Status::BadArgument));
        assert_eq!(
            h.edit_header_map(req, Edit::Add, b"b", b"x"),
            Status::BadArgument
        );
        // The response never started: its map is null, and a lookup there is NotFound.
        let resp = map::HTTP_RESPONSE_HEADERS;
        assert_eq!(h.header_map_value(resp, b"a"), Err(Status::NotFound));
    }
}
