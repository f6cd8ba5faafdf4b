//! What Envoy 1.40 does around an HTTP filter, as far as a filter or a client can see it, so that
//! in-process outcomes equal the real-Envoy ones (the fidelity test compares them scenario by
//! scenario; where this model and Envoy disagree, Envoy wins and this file changes).
//!
//! The listener setup it mirrors is `loadgen::bootstrap`: HTTP/1.1, `generate_request_id: false`,
//! one route to the echo upstream with an 8 s timeout, the echo upstream of `loadgen::services`.

use filterbench_model::corpus::{HeaderPair, UpstreamReply};
use filterbench_model::outcome::{Outcome, UpstreamSeen};

use super::{CallReply, Exchange};

/// The authority the test client sends when a scenario gives no `host`.
pub const DEFAULT_AUTHORITY: &str = "filterbench.test";
use filterbench_model::corpus::DEFAULT_UPSTREAM_BODY;
/// The route timeout the router announces upstream.
pub const ROUTE_TIMEOUT_MS: u64 = 8000;

/// Request headers Envoy's HTTP/1 codec keeps as one entry: a repeated one is joined with ","
/// (observed in 1.40 for these; others stay separate entries).
pub const COALESCED_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "user-agent",
    "x-forwarded-for",
    "x-request-id",
];

/// Header lists written in place: slot i of the list is overwritten (its strings keep their
/// allocations), the list is cut to the slots written when done. The harness runs the same
/// request millions of times in benches, and re-using the strings makes its own cost per request
/// a fraction of what fresh strings cost; the content is exactly what a fresh list would hold.
pub(crate) struct Slots<'a, S: PairSlot = HeaderPair> {
    list: &'a mut Vec<S>,
    n: usize,
}

impl<'a, S: PairSlot> Slots<'a, S> {
    pub(crate) fn new(list: &'a mut Vec<S>) -> Slots<'a, S> {
        Slots { list, n: 0 }
    }

    /// The next slot's name and value, emptied.
    pub(crate) fn next(&mut self) -> (&mut String, &mut String) {
        if self.n == self.list.len() {
            self.list.push(S::empty());
        }
        let slot = &mut self.list[self.n];
        self.n += 1;
        let (name, value) = slot.strings();
        name.clear();
        value.clear();
        (name, value)
    }

    pub(crate) fn push(&mut self, name: &str, value: &str) {
        let (n, v) = self.next();
        n.push_str(name);
        v.push_str(value);
    }

    /// A header whose value is a number.
    pub(crate) fn push_number(&mut self, name: &str, value: impl std::fmt::Display) {
        use std::fmt::Write;
        let (n, v) = self.next();
        n.push_str(name);
        let _ = write!(v, "{value}");
    }

    /// The slots written so far.
    pub(crate) fn written(&mut self) -> &mut [S] {
        &mut self.list[..self.n]
    }

    /// Cuts the list to the slots written.
    pub(crate) fn finish(self) {
        self.list.truncate(self.n);
    }
}

/// A header entry the model reads by name and value: a `(String, String)` pair, or a host's own
/// entry type (the Wasm host lends its map's entries as they are, without moving strings out).
pub trait PairView {
    fn name(&self) -> &str;
    fn value(&self) -> &str;
}

impl PairView for HeaderPair {
    #[inline]
    fn name(&self) -> &str {
        &self.0
    }
    #[inline]
    fn value(&self) -> &str {
        &self.1
    }
}

/// A header entry the model writes in place: its name and value strings (a `(String, String)`
/// pair, or a host's own entry type, so that a host's map is refilled without moving strings).
pub trait PairSlot: PairView {
    /// A new, empty entry.
    fn empty() -> Self;
    /// The entry's name and value strings, to overwrite.
    fn strings(&mut self) -> (&mut String, &mut String);
}

impl PairSlot for HeaderPair {
    #[inline]
    fn empty() -> Self {
        (String::new(), String::new())
    }
    #[inline]
    fn strings(&mut self) -> (&mut String, &mut String) {
        (&mut self.0, &mut self.1)
    }
}

/// `dst` made equal to `src`, overwriting `dst`'s strings in place (`Vec::clone_from` would
/// clone every pair afresh: tuples have no in-place `clone_from`).
pub fn copy_pairs(src: &[HeaderPair], dst: &mut Vec<HeaderPair>) {
    let mut slots = Slots::new(dst);
    for (n, v) in src {
        slots.push(n, v);
    }
    slots.finish();
}

/// `dst` made equal to `src`, re-using `dst`'s strings (the derived `clone_from` clones afresh).
pub fn copy_upstream_seen(src: &UpstreamSeen, dst: &mut UpstreamSeen) {
    dst.method.clone_from(&src.method);
    dst.path.clone_from(&src.path);
    copy_pairs(&src.headers, &mut dst.headers);
    dst.body.clone_from(&src.body);
}

/// The request headers the filter chain sees: pseudo-headers first (`:authority` from `host`),
/// then the client's headers in order (names lower-cased, values trimmed of surrounding
/// whitespace, coalesced headers joined), then what the connection manager adds
/// (`x-forwarded-proto`).
pub fn filter_request_headers(ex: &Exchange) -> Vec<HeaderPair> {
    let mut headers = Vec::new();
    fill_request_headers(ex, &mut headers);
    headers
}

/// [`filter_request_headers`] written into `out` (re-using its strings).
pub fn fill_request_headers<S: PairSlot>(ex: &Exchange, out: &mut Vec<S>) {
    let authority = ex
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim())
        .unwrap_or(DEFAULT_AUTHORITY);
    let mut slots = Slots::new(out);
    slots.push(":authority", authority);
    slots.push(":path", &ex.path);
    slots.push(":method", &ex.method);
    slots.push(":scheme", "http");
    for (name, value) in &ex.headers {
        if name.eq_ignore_ascii_case("host") {
            continue;
        }
        let value = value.trim_matches([' ', '\t']);
        let coalesced = COALESCED_REQUEST_HEADERS
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name));
        if coalesced {
            if let Some(existing) = slots
                .written()
                .iter_mut()
                .find(|h| h.name().eq_ignore_ascii_case(name))
            {
                let (_, v) = existing.strings();
                v.push(',');
                v.push_str(value);
                continue;
            }
        }
        let (n, v) = slots.next();
        n.push_str(name);
        n.make_ascii_lowercase();
        v.push_str(value);
    }
    // The test client (hyper) sends a content-length for every body, and `content-length: 0`
    // for an empty one on methods that carry a body.
    let body_method = matches!(ex.method.as_str(), "POST" | "PUT" | "PATCH");
    if (!ex.body.is_empty() || body_method)
        && !slots.written().iter().any(|h| h.name() == "content-length")
    {
        slots.push_number("content-length", ex.body.len());
    }
    if !slots
        .written()
        .iter()
        .any(|h| h.name() == "x-forwarded-proto")
    {
        slots.push("x-forwarded-proto", "http");
    }
    slots.finish();
}

/// The value of a pseudo-header (or any header) in a header list.
pub fn header<'a, H: PairView>(headers: &'a [H], name: &str) -> Option<&'a str> {
    headers.iter().find(|h| h.name() == name).map(|h| h.value())
}

/// What the upstream receives once the filter chain let the request through with these headers
/// and body: pseudo-headers become the request line and `host`; the router adds
/// `x-envoy-expected-rq-timeout-ms`; a body whose headers carry no `content-length` (a filter
/// removed it) is framed chunked by Envoy's HTTP/1 codec: `transfer-encoding: chunked`. (A body
/// is taken to follow the headers when it is not empty: the corpus has no empty chunked bodies.)
pub fn upstream_seen(headers: &[HeaderPair], body: &[u8]) -> UpstreamSeen {
    let mut seen = UpstreamSeen::default();
    fill_upstream_seen(headers, body, &mut seen);
    seen
}

/// [`upstream_seen`] written into `out` (re-using its strings).
pub fn fill_upstream_seen<H: PairView>(headers: &[H], body: &[u8], out: &mut UpstreamSeen) {
    let mut slots = Slots::new(&mut out.headers);
    if let Some(authority) = header(headers, ":authority") {
        slots.push("host", authority);
    }
    for h in headers.iter().filter(|h| !h.name().starts_with(':')) {
        slots.push(h.name(), h.value());
    }
    slots.push_number("x-envoy-expected-rq-timeout-ms", ROUTE_TIMEOUT_MS);
    if !body.is_empty()
        && !headers
            .iter()
            .any(|h| h.name().eq_ignore_ascii_case("content-length"))
    {
        slots.push("transfer-encoding", "chunked");
    }
    slots.finish();
    out.method.clear();
    out.method
        .push_str(header(headers, ":method").unwrap_or("GET"));
    out.path.clear();
    out.path.push_str(header(headers, ":path").unwrap_or("/"));
    filterbench_model::outcome::fill_display_bytes(body, &mut out.body);
}

/// The response headers (with `:status`) and body the response filter chain sees when the
/// upstream answers with `reply`.
pub fn upstream_response(reply: &UpstreamReply) -> (Vec<HeaderPair>, Vec<u8>) {
    let (mut headers, mut body) = (Vec::new(), Vec::new());
    fill_upstream_response(reply, &mut headers, &mut body);
    (headers, body)
}

/// [`upstream_response`] written into `headers` and `body` (re-using their allocations).
pub fn fill_upstream_response<S: PairSlot>(
    reply: &UpstreamReply,
    headers: &mut Vec<S>,
    body: &mut Vec<u8>,
) {
    body.clear();
    body.extend_from_slice(
        reply
            .body
            .as_deref()
            .unwrap_or(DEFAULT_UPSTREAM_BODY)
            .as_bytes(),
    );
    let mut slots = Slots::new(headers);
    slots.push_number(":status", reply.status);
    for (name, value) in &reply.headers {
        let (n, v) = slots.next();
        n.push_str(name);
        n.make_ascii_lowercase();
        v.push_str(value);
    }
    slots.push_number("content-length", body.len());
    slots.push("x-envoy-upstream-service-time", "0");
    slots.finish();
}

/// The response headers (with `:status`) and body of a local reply a filter sends: Envoy adds
/// `content-length`, and `content-type: text/plain` when there is a body and no content type.
/// A reply sent before Envoy read the whole request (`request_complete` false: sent from the
/// request-headers callback of a request with a body) makes the connection manager close the
/// HTTP/1 connection: it adds `connection: close`.
pub fn local_reply(
    status: u16,
    headers: &[HeaderPair],
    body: &[u8],
    request_complete: bool,
) -> (Vec<HeaderPair>, Vec<u8>) {
    let mut out: Vec<HeaderPair> = vec![(":status".into(), status.to_string())];
    out.extend(
        headers
            .iter()
            .filter(|(n, _)| n != ":status")
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone())),
    );
    if !body.is_empty() && !out.iter().any(|(n, _)| n == "content-type") {
        out.push(("content-type".into(), "text/plain".into()));
    }
    out.retain(|(n, _)| n != "content-length");
    out.push(("content-length".into(), body.len().to_string()));
    if !request_complete {
        out.retain(|(n, _)| n != "connection");
        out.push(("connection".into(), "close".into()));
    }
    (out, body.to_vec())
}

/// The reply Envoy hands a filter for an outgoing call: the service's answer, or the one Envoy's
/// router makes up on a timeout (504) or a failed connection (503). `None` for an unknown
/// cluster, which Envoy refuses when the call is made (Lua raises, proxy-wasm gets BadArgument).
pub fn call_response(reply: &CallReply) -> Option<(Vec<HeaderPair>, Vec<u8>)> {
    let made_up = |status: u16, body: &str| {
        let headers = vec![
            (":status".to_string(), status.to_string()),
            ("content-length".to_string(), body.len().to_string()),
            ("content-type".to_string(), "text/plain".to_string()),
        ];
        Some((headers, body.as_bytes().to_vec()))
    };
    match reply {
        CallReply::Response { status, headers, body } => {
            let mut out = vec![(":status".to_string(), status.to_string())];
            out.extend(headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())));
            out.push(("content-length".into(), body.len().to_string()));
            Some((out, body.clone()))
        }
        CallReply::Timeout => made_up(504, "upstream request timeout"),
        CallReply::Reset => made_up(
            503,
            "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
        ),
        CallReply::UnknownCluster => None,
    }
}

/// The client's view: status from `:status`, headers without pseudo-headers, Envoy's `server`.
pub fn client_outcome(
    response_headers: &[HeaderPair],
    body: &[u8],
    upstream: Option<UpstreamSeen>,
) -> Outcome {
    let mut out = Outcome::default();
    fill_client_outcome(response_headers, body, None, &mut out);
    out.upstream = upstream;
    out
}

/// [`client_outcome`] written into `out` (re-using its strings); `upstream` is copied in.
pub fn fill_client_outcome<H: PairView>(
    response_headers: &[H],
    body: &[u8],
    upstream: Option<&UpstreamSeen>,
    out: &mut Outcome,
) {
    out.status = header(response_headers, ":status")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut slots = Slots::new(&mut out.response_headers);
    for h in response_headers
        .iter()
        .filter(|h| !h.name().starts_with(':'))
    {
        slots.push(h.name(), h.value());
    }
    slots.push("server", "envoy");
    slots.finish();
    filterbench_model::outcome::fill_display_bytes(body, &mut out.body);
    match (upstream, &mut out.upstream) {
        (None, slot) => *slot = None,
        (Some(seen), Some(slot)) => copy_upstream_seen(seen, slot),
        (Some(seen), slot) => *slot = Some(seen.clone()),
    }
}

/// What the client gets when a Wasm filter panics or traps: Envoy answers 503 with an empty body,
/// and the VM stays broken (every later request on it gets the same). Observed in Envoy 1.40.
/// Like any local reply, it closes the connection when Envoy had not read the whole request.
pub fn wasm_failure_reply(request_complete: bool) -> (Vec<HeaderPair>, Vec<u8>) {
    local_reply(503, &[], &[], request_complete)
}
