//! Outgoing calls: `proxy_http_call` (answered by `env.responder` when it is made, delivered as
//! an event after the current callback), `proxy_get_status`, and gRPC (the harness has no gRPC
//! services: every gRPC function fails as Envoy does for an unknown service).

use wasmtime::Caller;

use super::super::abi::Status;
use super::super::headers::{self, HeaderMap};
use super::super::memory;
use super::EVENT_BYTES;
use super::{fill, ok, Event, Host, R};
use crate::harness::{envoy, CallReply, CallRequest};

impl Host {
    /// `proxy_http_call` once its arguments are decoded: the request must have `:path`,
    /// `:method` and `:authority`; an unknown cluster is `BadArgument`. The response is queued
    /// for the effective context; the call's token is returned.
    pub(super) fn http_call(
        &mut self,
        cluster: &[u8],
        pairs: &[(&[u8], &[u8])],
        body: &[u8],
        timeout_ms: u32,
    ) -> Result<u32, Status> {
        if (timeout_ms as i32) < 0 {
            return Err(Status::BadArgument);
        }
        let mut request_headers = HeaderMap::new();
        for (k, v) in pairs {
            request_headers.add(k, v);
        }
        for required in [&b":path"[..], b":method", b":authority"] {
            if request_headers.get(required).is_none() {
                return Err(Status::BadArgument);
            }
        }
        if !body.is_empty() {
            request_headers.replace(b"content-length", body.len().to_string().as_bytes());
        }
        let request = CallRequest {
            cluster: String::from_utf8_lossy(cluster).into_owned(),
            headers: request_headers.to_pairs(),
            body: body.to_vec(),
            // Envoy: 0 means no timeout.
            timeout_ms: if timeout_ms == 0 {
                u64::MAX
            } else {
                u64::from(timeout_ms)
            },
        };
        let reply = (self.env.responder)(&request);
        let Some((headers, body)) = envoy::call_response(&reply) else {
            debug_assert!(matches!(reply, CallReply::UnknownCluster));
            return Err(Status::BadArgument);
        };
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1).max(1);
        self.events.push_back(Event::HttpCall {
            context: self.effective,
            token,
            headers: HeaderMap::from_pairs(headers),
            body,
        });
        Ok(token)
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn proxy_http_call(
    mut caller: Caller<'_, Host>,
    upstream_ptr: u32,
    upstream_size: u32,
    headers_ptr: u32,
    headers_size: u32,
    body_ptr: u32,
    body_size: u32,
    trailers_ptr: u32,
    trailers_size: u32,
    timeout_ms: u32,
    token_ptr: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let cluster = tri!(memory::read(data, upstream_ptr, upstream_size));
    let raw_headers = tri!(memory::read(data, headers_ptr, headers_size));
    let body = tri!(memory::read(data, body_ptr, body_size));
    let raw_trailers = tri!(memory::read(data, trailers_ptr, trailers_size));
    tri!(memory::check(data, token_ptr, 4));
    host.charge(
        cluster.len() + raw_headers.len() + body.len() + raw_trailers.len() + EVENT_BYTES,
        "http calls",
    )?;
    let (Ok(pairs), Ok(_trailers)) = (headers::parse(raw_headers), headers::parse(raw_trailers))
    else {
        return ok(Status::BadArgument);
    };
    let token = match host.http_call(cluster, &pairs, body, timeout_ms) {
        Ok(token) => token,
        Err(status) => return ok(status),
    };
    tri!(memory::write_u32(data, token_ptr, token));
    ok(Status::Ok)
}

pub(super) fn proxy_get_status(
    mut caller: Caller<'_, Host>,
    code_ptr: u32,
    ptr_ptr: u32,
    size_ptr: u32,
) -> R {
    let (code, message) = {
        let (data, host) = split_or_fault!(&mut caller);
        tri!(memory::check(data, code_ptr, 4));
        host.status.clone()
    };
    let status = memory::copy_out(&mut caller, message.len(), ptr_ptr, size_ptr, |_, dst| {
        fill(dst, &message)
    })?;
    if status != Status::Ok {
        return ok(status);
    }
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::write_u32(data, code_ptr, code));
    ok(Status::Ok)
}

/// Checks every `(pointer, length)` the guest passed; `Err` is the fault's status.
fn check_all(data: &[u8], ranges: &[(u32, u32)]) -> Result<(), Status> {
    for &(p, l) in ranges {
        memory::check(data, p, l)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn proxy_grpc_call(
    mut caller: Caller<'_, Host>,
    upstream_ptr: u32,
    upstream_size: u32,
    service_ptr: u32,
    service_size: u32,
    method_ptr: u32,
    method_size: u32,
    metadata_ptr: u32,
    metadata_size: u32,
    message_ptr: u32,
    message_size: u32,
    _timeout_ms: u32,
    token_ptr: u32,
) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    tri!(check_all(
        data,
        &[
            (upstream_ptr, upstream_size),
            (service_ptr, service_size),
            (method_ptr, method_size),
            (metadata_ptr, metadata_size),
            (message_ptr, message_size),
            (token_ptr, 4),
        ]
    ));
    // Envoy: an upstream that is neither a GrpcService nor a known cluster.
    ok(Status::ParseFailure)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn proxy_grpc_stream(
    mut caller: Caller<'_, Host>,
    upstream_ptr: u32,
    upstream_size: u32,
    service_ptr: u32,
    service_size: u32,
    method_ptr: u32,
    method_size: u32,
    metadata_ptr: u32,
    metadata_size: u32,
    token_ptr: u32,
) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    tri!(check_all(
        data,
        &[
            (upstream_ptr, upstream_size),
            (service_ptr, service_size),
            (method_ptr, method_size),
            (metadata_ptr, metadata_size),
            (token_ptr, 4),
        ]
    ));
    ok(Status::ParseFailure)
}

pub(super) fn proxy_grpc_send(
    mut caller: Caller<'_, Host>,
    _token: u32,
    ptr: u32,
    size: u32,
    _end: u32,
) -> R {
    let (data, _) = split_or_fault!(&mut caller);
    tri!(memory::check(data, ptr, size));
    ok(Status::NotFound)
}

pub(super) fn proxy_grpc_cancel(_caller: Caller<'_, Host>, _token: u32) -> R {
    ok(Status::NotFound)
}

pub(super) fn proxy_grpc_close(_caller: Caller<'_, Host>, _token: u32) -> R {
    ok(Status::NotFound)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::harness::{Env, LogLevel};

    fn host() -> Host {
        let mut env = Env::new(serde_json::json!({}));
        env.responder = Arc::new(|req: &CallRequest| {
            if req.cluster == "auth" {
                CallReply::Response {
                    status: 200,
                    headers: Vec::new(),
                    body: req.body.clone(),
                }
            } else {
                CallReply::UnknownCluster
            }
        });
        Host::new("t".into(), env, Default::default(), LogLevel::Info)
    }

    #[test]
    fn http_calls_are_answered_as_events() {
        let mut h = host();
        h.effective = 1;
        let head: &[(&[u8], &[u8])] = &[
            (&b":path"[..], &b"/"[..]),
            (&b":method"[..], &b"POST"[..]),
            (&b":authority"[..], &b"auth"[..]),
        ];
        let t1 = h.http_call(b"auth", head, b"hi", 100).unwrap();
        let t2 = h.http_call(b"auth", head, b"", 0).unwrap();
        assert_ne!(t1, t2);
        assert_eq!(
            h.http_call(b"nowhere", head, b"", 0),
            Err(Status::BadArgument)
        );
        assert_eq!(
            h.http_call(b"auth", &head[1..], b"", 0),
            Err(Status::BadArgument),
            "no :path"
        );
        assert_eq!(h.events.len(), 2);
        match &h.events[0] {
            Event::HttpCall {
                context,
                token,
                body,
                ..
            } => assert_eq!((*context, *token, body.as_slice()), (1, t1, &b"hi"[..])),
            other => panic!("{other:?}"),
        }
    }
}
