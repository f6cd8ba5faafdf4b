//! The stream driver: one HTTP exchange through the filter, as Envoy's filter manager drives a
//! single filter in front of the router (see the module documentation of `mod.rs` for the
//! rules): headers and body callbacks in each direction, the actions deferred to the end of a
//! callback, local replies, call responses, the access log and the end of the context.

use super::headers::HeaderMap;
use super::host::{Event, LocalReply};
use super::vm::{call_guest, guest, Stop, VmState, WasmVm};
use super::{abi, error};
use crate::harness::{envoy, Exchange, FailureKind, FilterError, LogLevel, Phase};
use filterbench_model::outcome::{Outcome, UpstreamSeen};

/// What the filter-manager does with a headers callback's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadersStatus {
    Continue,
    StopIteration,
    StopAll,
}

/// One direction (request or response) of a stream through the filter.
#[derive(Debug, Default)]
struct Dir {
    headers_done: bool,
    /// The headers callback stopped all iteration: the body waits for a continue.
    stop_all: bool,
    /// There is a body the filter has not seen yet.
    body_pending: bool,
    /// The body callback paused (the body is buffered).
    body_paused: bool,
    body_done: bool,
}

impl Dir {
    fn new(has_body: bool) -> Dir {
        Dir {
            body_pending: has_body,
            body_done: !has_body,
            ..Dir::default()
        }
    }

    fn complete(&self) -> bool {
        self.headers_done && self.body_done
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

/// How the request side ended.
enum DecodeEnd {
    Upstream,
    /// A local reply; `request_complete`: Envoy had the whole request when it was sent.
    LocalReply {
        reply: LocalReply,
        request_complete: bool,
    },
    /// Paused and never resumed.
    Hung,
}

/// How the response side ended.
enum EncodeEnd {
    Done,
    /// A local reply from a response callback (sent directly, without the filter).
    Direct(LocalReply),
}

fn failure_outcome(upstream: Option<UpstreamSeen>, request_complete: bool) -> Outcome {
    let (headers, body) = envoy::wasm_failure_reply(request_complete);
    envoy::client_outcome(&headers, &body, upstream)
}

fn local_reply_parts(lr: &LocalReply, request_complete: bool) -> (HeaderMap, Vec<u8>) {
    let headers: Vec<(String, String)> = lr
        .headers
        .iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect();
    let status = u16::try_from(lr.status).unwrap_or(500);
    let (h, b) = envoy::local_reply(status, &headers, &lr.body, request_complete);
    (HeaderMap::from_pairs(h), b)
}

impl WasmVm {
    fn headers_status(&self, result: Option<u32>, stop_next: bool) -> HeadersStatus {
        match result.unwrap_or(abi::ACTION_CONTINUE) {
            _ if stop_next => HeadersStatus::StopAll,
            // 0 Continue, 2 ContinueAndEndStream.
            0 | 2 => HeadersStatus::Continue,
            abi::ACTION_PAUSE if self.allow_on_headers_stop_iteration => {
                HeadersStatus::StopIteration
            }
            _ => HeadersStatus::StopAll,
        }
    }

    /// Runs one exchange; see the module documentation.
    pub(super) fn run_exchange(&mut self, ex: &Exchange) -> Result<Outcome, FilterError> {
        match &self.state {
            VmState::Ready => {}
            // The dead VM's 503 goes out as the request headers arrive.
            VmState::Failed => return Ok(failure_outcome(None, ex.body.is_empty())),
            VmState::Fatal(e) => return Err(e.clone()),
        }
        if let Err(stop) = self.maybe_tick() {
            return self.stopped(stop, None, !ex.body.is_empty());
        }
        if let Err(stop) = self.begin(Phase::RequestHeaders) {
            return self.stopped(stop, None, !ex.body.is_empty());
        }
        let ctx = self.host().new_context_id();
        {
            let host = self.host();
            host.after = Default::default();
            let s = &mut host.stream;
            s.reset();
            s.id = ctx;
            s.start_ns = host.env.clock.now_ns();
            s.request_headers
                .refill(|h| envoy::fill_request_headers(ex, h));
            s.request_body.extend_from_slice(&ex.body);
            s.request_body_size = ex.body.len();
        }
        let mut upstream: Option<UpstreamSeen> = None;
        let result = self.drive(ctx, ex, &mut upstream);
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(stop) => return self.stopped(stop, upstream, !ex.body.is_empty()),
        };
        // The access log, then the end of the context.
        let finished = self.finish(ctx);
        self.end_stream();
        if let Err(stop) = finished {
            // The response is out already: only the VM is affected.
            let _ = self.stopped(stop, None, false);
        }
        Ok(outcome)
    }

    fn end_stream(&mut self) {
        let host = self.host();
        host.stream.reset();
        host.call_response = None;
        host.after = Default::default();
        // Envoy cancels the stream's outstanding calls when it is destroyed.
        let root = host.root_id;
        host.events
            .retain(|ev| !matches!(ev, Event::HttpCall { context, .. } if *context != root));
    }

    /// Turns an early stop into `run`'s result, failing the VM as Envoy does. `request_body`:
    /// the request has a body (a failure before Envoy read it closes the connection).
    fn stopped(
        &mut self,
        stop: Stop,
        upstream: Option<UpstreamSeen>,
        request_body: bool,
    ) -> Result<Outcome, FilterError> {
        self.end_stream();
        match stop {
            Stop::Trap { phase, message } => {
                let name = self.name.to_string();
                self.host()
                    .env
                    .log(LogLevel::Critical, format!("{name}: {phase}: {message}"));
                self.state = VmState::Failed;
                let before_body = matches!(
                    phase,
                    Phase::Start | Phase::Configure | Phase::RequestHeaders
                );
                Ok(failure_outcome(upstream, !(request_body && before_body)))
            }
            Stop::Fatal(e) => {
                self.state = VmState::Fatal(e.clone());
                Err(e)
            }
            Stop::NoResponse { phase, message } | Stop::Refused { phase, message } => {
                Err(error(&self.name, phase, FailureKind::Runtime, message))
            }
        }
    }

    /// The request side, the upstream, the response side. `upstream` is set once the request
    /// reached the upstream (kept in the outcome of a later failure).
    fn drive(
        &mut self,
        ctx: u32,
        ex: &Exchange,
        upstream: &mut Option<UpstreamSeen>,
    ) -> Result<Outcome, Stop> {
        let root = self.store.data().root_id;
        guest!(
            self,
            context_create,
            ctx,
            (ctx, root),
            Phase::RequestHeaders
        )?;
        match self.decode(ctx, ex)? {
            DecodeEnd::Upstream => {
                let mut seen = self.spare.upstream.take().unwrap_or_default();
                let (mut response, mut body) = {
                    let s = &mut self.host().stream;
                    let request_body = &s.request_body;
                    s.request_headers
                        .with_entries(|h| envoy::fill_upstream_seen(h, request_body, &mut seen));
                    // The response side is empty until now; its buffers are refilled in place.
                    (
                        std::mem::take(&mut s.response_headers),
                        std::mem::take(&mut s.response_body),
                    )
                };
                response.refill(|h| envoy::fill_upstream_response(&ex.upstream, h, &mut body));
                *upstream = Some(seen);
                match self.encode(ctx, response, body, true)? {
                    EncodeEnd::Done => Ok(self.response_outcome(upstream.take())),
                    EncodeEnd::Direct(lr) => {
                        let (h, b) = local_reply_parts(&lr, true);
                        let s = &mut self.host().stream;
                        s.response_headers = h;
                        s.response_body = b;
                        Ok(self.response_outcome(upstream.take()))
                    }
                }
            }
            DecodeEnd::LocalReply {
                reply,
                request_complete,
            } => {
                let (h, b) = local_reply_parts(&reply, request_complete);
                self.encode(ctx, h, b, false)?;
                Ok(self.response_outcome(None))
            }
            DecodeEnd::Hung => {
                let name = self.name.to_string();
                self.host().env.log(
                    LogLevel::Warn,
                    format!("{name}: the filter paused the request and never resumed it: Envoy answers at the stream idle timeout"),
                );
                let (h, b) = envoy::local_reply(408, &[], b"stream timeout", true);
                self.encode(ctx, HeaderMap::from_pairs(h), b, false)?;
                Ok(self.response_outcome(None))
            }
        }
    }

    fn response_outcome(&mut self, upstream: Option<UpstreamSeen>) -> Outcome {
        let mut out = std::mem::take(&mut self.spare);
        let s = &mut self.store.data_mut().stream;
        let body = &s.response_body;
        s.response_headers
            .with_entries(|h| envoy::fill_client_outcome(h, body, None, &mut out));
        out.upstream = upstream;
        out
    }

    /// Actions the last callback asked for, as Envoy runs them after the VM call. Returns how
    /// the direction ended, if it did.
    fn after_callback(
        &mut self,
        dir: &mut Dir,
        which: Direction,
        ctx: u32,
        phase: Phase,
    ) -> Result<Option<LocalReply>, Stop> {
        let after = std::mem::take(&mut self.host().after);
        if after.close {
            return Err(Stop::NoResponse {
                phase,
                message: "the filter closed the stream (proxy_close_stream): Envoy resets it, the client gets no response".into(),
            });
        }
        if let Some(lr) = after.local_reply {
            let s = &mut self.host().stream;
            if !s.local_reply_sent {
                s.local_reply_sent = true;
                return Ok(Some(lr));
            }
        }
        let resume = match which {
            Direction::Request => after.continue_request,
            Direction::Response => after.continue_response,
        };
        if resume {
            return self.resume(dir, which, ctx);
        }
        Ok(None)
    }

    /// `continueDecoding` / `continueEncoding`.
    fn resume(
        &mut self,
        dir: &mut Dir,
        which: Direction,
        ctx: u32,
    ) -> Result<Option<LocalReply>, Stop> {
        if !dir.headers_done {
            dir.headers_done = true;
            if dir.stop_all {
                dir.stop_all = false;
                if dir.body_pending {
                    // The body buffered in front of the filter is now delivered to it.
                    return self.deliver_body(dir, which, ctx);
                }
            }
        }
        if dir.body_paused {
            dir.body_paused = false;
            dir.body_done = true;
            let s = &mut self.host().stream;
            match which {
                Direction::Request => s.request_body_open = false,
                Direction::Response => s.response_body_open = false,
            }
        }
        Ok(None)
    }

    /// The body callback, the whole body at once with `end_of_stream = true`.
    fn deliver_body(
        &mut self,
        dir: &mut Dir,
        which: Direction,
        ctx: u32,
    ) -> Result<Option<LocalReply>, Stop> {
        dir.body_pending = false;
        let (result, phase) = match which {
            Direction::Request => {
                let s = &mut self.host().stream;
                s.request_body_open = true;
                let len = s.request_body.len() as u32;
                (
                    guest!(self, request_body, ctx, (ctx, len, 1), Phase::RequestBody)?,
                    Phase::RequestBody,
                )
            }
            Direction::Response => {
                let s = &mut self.host().stream;
                s.response_body_open = true;
                let len = s.response_body.len() as u32;
                (
                    guest!(self, response_body, ctx, (ctx, len, 1), Phase::ResponseBody)?,
                    Phase::ResponseBody,
                )
            }
        };
        let stop_next = self.store.data().after.stop_next_iteration;
        if !stop_next && result.unwrap_or(abi::ACTION_CONTINUE) == abi::ACTION_CONTINUE {
            // Continue also lets stopped headers go (Envoy's commonContinue).
            dir.body_done = true;
            dir.headers_done = true;
            let s = &mut self.host().stream;
            match which {
                Direction::Request => s.request_body_open = false,
                Direction::Response => s.response_body_open = false,
            }
        } else {
            dir.body_paused = true;
        }
        self.after_callback(dir, which, ctx, phase)
    }

    /// Delivers pending events (http call responses, queue notifications) until none is left
    /// or the direction ended with a local reply.
    fn pump(
        &mut self,
        dir: &mut Dir,
        which: Direction,
        ctx: u32,
    ) -> Result<Option<LocalReply>, Stop> {
        while let Some(ev) = self.host().events.pop_front() {
            self.deliver(ev)?;
            if let Some(lr) = self.after_callback(dir, which, ctx, Phase::HttpCallResponse)? {
                return Ok(Some(lr));
            }
        }
        Ok(None)
    }

    /// The request side: headers, body, events.
    fn decode(&mut self, ctx: u32, ex: &Exchange) -> Result<DecodeEnd, Stop> {
        let mut dir = Dir::new(!ex.body.is_empty());
        let (n, eos) = {
            let s = &mut self.host().stream;
            s.request_headers_open = true;
            (
                s.request_headers.len() as u32,
                u32::from(ex.body.is_empty()),
            )
        };
        let result = guest!(
            self,
            request_headers,
            ctx,
            (ctx, n, eos),
            Phase::RequestHeaders
        )?;
        let stop_next = self.store.data().after.stop_next_iteration;
        match self.headers_status(result, stop_next) {
            HeadersStatus::Continue => {
                dir.headers_done = true;
                self.host().stream.request_headers_open = false;
            }
            HeadersStatus::StopIteration => {}
            HeadersStatus::StopAll => dir.stop_all = true,
        }
        if let Some(lr) =
            self.after_callback(&mut dir, Direction::Request, ctx, Phase::RequestHeaders)?
        {
            // Sent while Envoy dispatched the request headers: a request body is still to come.
            return Ok(DecodeEnd::LocalReply {
                reply: lr,
                request_complete: ex.body.is_empty(),
            });
        }
        // From here on Envoy has read the whole request (the body callback has end_of_stream,
        // and a paused request's body arrives while the filter waits).
        if dir.body_pending && !dir.stop_all {
            if let Some(lr) = self.deliver_body(&mut dir, Direction::Request, ctx)? {
                return Ok(DecodeEnd::LocalReply {
                    reply: lr,
                    request_complete: true,
                });
            }
        }
        if let Some(lr) = self.pump(&mut dir, Direction::Request, ctx)? {
            return Ok(DecodeEnd::LocalReply {
                reply: lr,
                request_complete: true,
            });
        }
        // Envoy keeps `request_headers_` when the headers were paused and the body continued
        // them: the filter can still read them later. Nothing to close here.
        if dir.complete() {
            Ok(DecodeEnd::Upstream)
        } else {
            Ok(DecodeEnd::Hung)
        }
    }

    /// The response side: `headers`/`body` are the upstream's response or a local reply.
    fn encode(
        &mut self,
        ctx: u32,
        headers: HeaderMap,
        body: Vec<u8>,
        from_upstream: bool,
    ) -> Result<EncodeEnd, Stop> {
        let mut dir = Dir::new(!body.is_empty());
        let (n, eos) = {
            let s = &mut self.host().stream;
            s.response_headers = headers;
            s.response_headers_open = true;
            s.response_started = true;
            s.response_body = body;
            s.response_body_open = false;
            (
                s.response_headers.len() as u32,
                u32::from(s.response_body.is_empty()),
            )
        };
        let result = guest!(
            self,
            response_headers,
            ctx,
            (ctx, n, eos),
            Phase::ResponseHeaders
        )?;
        let stop_next = self.store.data().after.stop_next_iteration;
        match self.headers_status(result, stop_next) {
            HeadersStatus::Continue => {
                dir.headers_done = true;
                self.host().stream.response_headers_open = false;
            }
            HeadersStatus::StopIteration => {}
            HeadersStatus::StopAll => dir.stop_all = true,
        }
        let direct = |lr: LocalReply| {
            if from_upstream {
                Ok(EncodeEnd::Direct(lr))
            } else {
                // A local reply is being sent already: Envoy ignores another.
                Ok(EncodeEnd::Done)
            }
        };
        if let Some(lr) =
            self.after_callback(&mut dir, Direction::Response, ctx, Phase::ResponseHeaders)?
        {
            return direct(lr);
        }
        if dir.body_pending && !dir.stop_all {
            if let Some(lr) = self.deliver_body(&mut dir, Direction::Response, ctx)? {
                return direct(lr);
            }
        }
        if let Some(lr) = self.pump(&mut dir, Direction::Response, ctx)? {
            return direct(lr);
        }
        if !dir.complete() {
            return Err(Stop::NoResponse {
                phase: if dir.headers_done { Phase::ResponseBody } else { Phase::ResponseHeaders },
                message: "the filter paused the response and never resumed it: Envoy resets the stream at the stream idle timeout, the client gets no response".into(),
            });
        }
        let s = &mut self.host().stream;
        s.response_headers_open = false;
        s.response_body_open = false;
        Ok(EncodeEnd::Done)
    }

    /// `proxy_on_log` (headers readable, as in Envoy's access-log phase), `proxy_on_done`,
    /// `proxy_on_delete`.
    fn finish(&mut self, ctx: u32) -> Result<(), Stop> {
        {
            let s = &mut self.host().stream;
            s.access_log = true;
            s.request_headers_open = false;
            s.request_body_open = false;
            s.response_headers_open = false;
            s.response_body_open = false;
        }
        guest!(self, log, ctx, ctx, Phase::Log)?;
        self.host().stream.access_log = false;
        if guest!(self, done, ctx, ctx, Phase::Done)? == Some(0) {
            self.host().done_pending.push(ctx);
        }
        guest!(self, delete, ctx, ctx, Phase::Done)?;
        let host = self.host();
        host.done_pending.retain(|&c| c != ctx);
        host.after = Default::default();
        Ok(())
    }
}
