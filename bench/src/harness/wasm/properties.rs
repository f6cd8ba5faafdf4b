//! `proxy_get_property` / `proxy_set_property`: the attributes Envoy exposes, as far as the
//! harness knows them. A path is its segments joined by NUL (`["request", "path"]` is
//! `request\0path`). Strings are returned as their bytes, integers as 8 little-endian bytes,
//! maps as serialised pairs (Envoy's `serializeValue`). Anything else is `NotFound`.
//!
//! As in Envoy, the request attributes read from the request headers (`request.path`,
//! `request.headers...`) exist only while the request header map is available to the filter
//! (in the request-headers callback, while the request is paused, and in `proxy_on_log`): Envoy
//! reads them through the same `request_headers_` pointer, which is cleared once the headers
//! are continued. Likewise for `response.*`.
//!
//! The harness has no real connection: `source.address` is `127.0.0.1:40000` (the client) and
//! `destination.address` `127.0.0.1:10000` (the listener).

use super::abi::Status;
use super::headers::HeaderMap;
use super::host::Host;

pub const SOURCE_ADDRESS: &str = "127.0.0.1:40000";
pub const SOURCE_PORT: i64 = 40000;
pub const DESTINATION_ADDRESS: &str = "127.0.0.1:10000";
pub const DESTINATION_PORT: i64 = 10000;
/// The route's cluster (`loadgen::bootstrap`).
pub const CLUSTER_NAME: &str = "echo";

fn int(v: i64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn string(s: &[u8]) -> Vec<u8> {
    s.to_vec()
}

fn map_value(m: &HeaderMap) -> Vec<u8> {
    let mut out = vec![0u8; m.serialized_len()];
    m.serialize_into(&mut out);
    out
}

/// The value of the property at `path`, or `None` (NotFound).
pub fn get(host: &Host, path: &[u8]) -> Option<Vec<u8>> {
    let parts: Vec<&[u8]> = path.split(|&b| b == 0).collect();
    let (top, rest) = parts.split_first()?;
    match *top {
        b"plugin_name" if rest.is_empty() => return Some(string(host.name.as_bytes())),
        b"plugin_root_id" if rest.is_empty() => return Some(Vec::new()),
        b"plugin_vm_id" if rest.is_empty() => return Some(string(host.name.as_bytes())),
        _ => {}
    }
    let stream = host.stream()?;
    let request =
        (stream.access_log || stream.request_headers_open).then_some(&stream.request_headers);
    let response = ((stream.access_log && stream.response_started) || stream.response_headers_open)
        .then_some(&stream.response_headers);
    let value = match (*top, rest) {
        (b"request", [field]) => {
            let h = |name: &[u8]| request.and_then(|r| r.get(name)).map(string);
            match *field {
                b"path" => h(b":path"),
                b"url_path" => request
                    .and_then(|r| r.get(b":path"))
                    .map(|p| string(p.split(|&b| b == b'?').next().unwrap_or_default())),
                b"query" => request.and_then(|r| r.get(b":path")).map(|p| {
                    p.iter()
                        .position(|&b| b == b'?')
                        .map(|i| string(&p[i + 1..]))
                        .unwrap_or_default()
                }),
                b"host" => h(b":authority"),
                b"scheme" => h(b":scheme"),
                b"method" => h(b":method"),
                b"referer" => h(b"referer"),
                b"useragent" => h(b"user-agent"),
                b"id" => h(b"x-request-id"),
                b"headers" => request.map(map_value),
                b"protocol" => Some(string(b"HTTP/1.1")),
                b"time" => Some(int(stream.start_ns as i64)),
                b"size" => Some(int(stream.request_body_size as i64)),
                _ => None,
            }
        }
        (b"request", [b"headers", name]) => request.and_then(|r| r.joined(name)),
        (b"response", [field]) => match *field {
            b"code" => response
                .and_then(|r| r.get(b":status"))
                .and_then(|s| std::str::from_utf8(s).ok()?.parse::<i64>().ok())
                .map(int),
            b"headers" => response.map(map_value),
            _ => None,
        },
        (b"response", [b"headers", name]) => response.and_then(|r| r.joined(name)),
        (b"source", [b"address"]) => Some(string(SOURCE_ADDRESS.as_bytes())),
        (b"source", [b"port"]) => Some(int(SOURCE_PORT)),
        (b"destination", [b"address"]) => Some(string(DESTINATION_ADDRESS.as_bytes())),
        (b"destination", [b"port"]) => Some(int(DESTINATION_PORT)),
        (b"cluster_name", []) => Some(string(CLUSTER_NAME.as_bytes())),
        _ => None,
    };
    value.or_else(|| {
        stream
            .filter_state
            .iter()
            .find(|(k, _)| k == path)
            .map(|(_, v)| v.clone())
    })
}

/// Stores a value in the stream's filter state (readable back with the same path).
pub fn set(host: &mut Host, path: &[u8], value: &[u8]) -> Status {
    if host.stream().is_none() {
        // Envoy: no stream info outside a stream.
        return Status::NotFound;
    }
    let state = &mut host.stream.filter_state;
    match state.iter_mut().find(|(k, _)| k == path) {
        Some(entry) => entry.1 = value.to_vec(),
        None => state.push((path.to_vec(), value.to_vec())),
    }
    Status::Ok
}
