//! Stream control: `proxy_continue_stream` (and the older `proxy_continue_request` /
//! `proxy_continue_response`), `proxy_close_stream`, `proxy_send_local_response`. They only
//! record what Envoy does once the callback returns ([`super::After`]).

use wasmtime::Caller;

use super::super::abi::{stream, Status};
use super::super::headers;
use super::super::memory;
use super::{ok, Host, LocalReply, R};

impl Host {
    /// Envoy's `continueStream`.
    pub(super) fn continue_stream(&mut self, stream_type: u32) -> Status {
        match stream_type {
            stream::HTTP_REQUEST | stream::HTTP_RESPONSE => {
                if self.stream().is_none() {
                    return Status::Ok;
                }
                if stream_type == stream::HTTP_REQUEST {
                    self.after.continue_request = true;
                } else {
                    self.after.continue_response = true;
                }
                // Envoy's continueStream forgets the request maps for either direction.
                let s = &mut self.stream;
                s.request_headers_open = false;
                s.request_body_open = false;
                Status::Ok
            }
            stream::DOWNSTREAM => Status::Ok,
            stream::UPSTREAM => Status::Unimplemented,
            _ => Status::BadArgument,
        }
    }

    /// Envoy's `closeStream`: an HTTP stream is reset once the callback returns.
    pub(super) fn close_stream(&mut self, stream_type: u32) -> Status {
        match stream_type {
            stream::HTTP_REQUEST | stream::HTTP_RESPONSE => {
                if self.stream().is_some() {
                    self.after.close = true;
                }
                Status::Ok
            }
            stream::DOWNSTREAM | stream::UPSTREAM => Status::Ok,
            _ => Status::BadArgument,
        }
    }

    /// Envoy's `sendLocalResponse`: the first reply asked for in a callback is sent once it
    /// returns, and the callback's result becomes "stop all". Nothing happens in a root context.
    pub(super) fn send_local_response(
        &mut self,
        status: u32,
        headers: &[(&[u8], &[u8])],
        body: &[u8],
    ) -> Status {
        if self.stream().is_none() {
            // Envoy: no decoder callbacks (a root context): nothing happens.
            return Status::Ok;
        }
        if self.after.local_reply.is_none() {
            self.after.local_reply = Some(LocalReply {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .collect(),
                body: body.to_vec(),
            });
        }
        self.after.stop_next_iteration = true;
        Status::Ok
    }
}

pub(super) fn proxy_continue_stream(mut caller: Caller<'_, Host>, stream_type: u32) -> R {
    ok(caller.data_mut().continue_stream(stream_type))
}

pub(super) fn proxy_continue_request(mut caller: Caller<'_, Host>) -> R {
    ok(caller.data_mut().continue_stream(stream::HTTP_REQUEST))
}

pub(super) fn proxy_continue_response(mut caller: Caller<'_, Host>) -> R {
    ok(caller.data_mut().continue_stream(stream::HTTP_RESPONSE))
}

pub(super) fn proxy_close_stream(mut caller: Caller<'_, Host>, stream_type: u32) -> R {
    ok(caller.data_mut().close_stream(stream_type))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn proxy_send_local_response(
    mut caller: Caller<'_, Host>,
    status_code: u32,
    details_ptr: u32,
    details_size: u32,
    body_ptr: u32,
    body_size: u32,
    headers_ptr: u32,
    headers_size: u32,
    _grpc_status: u32,
) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    // The details only name the reply in Envoy's access log.
    tri!(memory::check(data, details_ptr, details_size));
    let body = tri!(memory::read(data, body_ptr, body_size));
    let raw = tri!(memory::read(data, headers_ptr, headers_size));
    host.charge(body.len() + raw.len(), "local replies")?;
    let Ok(pairs) = headers::parse(raw) else {
        return ok(Status::BadArgument);
    };
    ok(host.send_local_response(status_code, &pairs, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{Env, LogLevel};

    fn host_in_stream() -> Host {
        let env = Env::new(serde_json::json!({}));
        let mut h = Host::new("t".into(), env, Default::default(), LogLevel::Info);
        h.stream.id = 2;
        h.effective = 2;
        h.stream.request_headers_open = true;
        h
    }

    #[test]
    fn continuing_is_deferred_and_closes_the_request_maps() {
        let mut h = host_in_stream();
        assert_eq!(h.continue_stream(stream::HTTP_RESPONSE), Status::Ok);
        assert!(h.after.continue_response && !h.after.continue_request);
        assert!(
            !h.stream.request_headers_open,
            "Envoy forgets the request maps"
        );
        assert_eq!(h.continue_stream(stream::UPSTREAM), Status::Unimplemented);
        assert_eq!(h.continue_stream(99), Status::BadArgument);
        assert_eq!(h.close_stream(stream::HTTP_REQUEST), Status::Ok);
        assert!(h.after.close);
    }

    #[test]
    fn the_first_local_reply_wins_and_stops_iteration() {
        let mut h = host_in_stream();
        let headers: &[(&[u8], &[u8])] = &[(&b"x"[..], &b"1"[..])];
        assert_eq!(h.send_local_response(403, headers, b"no"), Status::Ok);
        assert_eq!(h.send_local_response(500, &[], b"later"), Status::Ok);
        let reply = h.after.local_reply.as_ref().unwrap();
        assert_eq!((reply.status, reply.body.as_slice()), (403, &b"no"[..]));
        assert_eq!(reply.headers, vec![(b"x".to_vec(), b"1".to_vec())]);
        assert!(h.after.stop_next_iteration);
        // A root context: nothing happens.
        let mut h = host_in_stream();
        h.effective = 1;
        assert_eq!(h.send_local_response(403, &[], b""), Status::Ok);
        assert!(h.after.local_reply.is_none() && !h.after.stop_next_iteration);
    }
}
