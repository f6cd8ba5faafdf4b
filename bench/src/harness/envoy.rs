//! What Envoy 1.40 does around an HTTP filter, as far as a filter or a client can see it, so that
//! in-process outcomes equal the real-Envoy ones (the fidelity test compares them scenario by
//! scenario; where this model and Envoy disagree, Envoy wins and this file changes).
//!
//! The listener setup it mirrors is `loadgen::bootstrap`: HTTP/1.1, `generate_request_id: false`,
//! one route to the echo upstream with an 8 s timeout, the echo upstream of `loadgen::services`.

use crate::corpus::{HeaderPair, UpstreamReply};
use crate::outcome::{Outcome, UpstreamSeen};

use super::{CallReply, Exchange};

/// The authority the test client sends when a scenario gives no `host`.
pub const DEFAULT_AUTHORITY: &str = "filterbench.test";
/// The body the echo upstream sends for a scripted reply without one.
pub const DEFAULT_UPSTREAM_BODY: &str = "upstream ok";
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

/// The request headers the filter chain sees: pseudo-headers first (`:authority` from `host`),
/// then the client's headers in order (names lower-cased, values trimmed of surrounding
/// whitespace, coalesced headers joined), then what the connection manager adds
/// (`x-forwarded-proto`).
pub fn filter_request_headers(ex: &Exchange) -> Vec<HeaderPair> {
    let authority = ex
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| DEFAULT_AUTHORITY.to_string());
    let mut headers: Vec<HeaderPair> = vec![
        (":authority".into(), authority),
        (":path".into(), ex.path.clone()),
        (":method".into(), ex.method.clone()),
        (":scheme".into(), "http".into()),
    ];
    for (name, value) in &ex.headers {
        let name = name.to_ascii_lowercase();
        if name == "host" {
            continue;
        }
        let value = value.trim_matches([' ', '\t']).to_string();
        if COALESCED_REQUEST_HEADERS.contains(&name.as_str()) {
            if let Some(existing) = headers.iter_mut().find(|(n, _)| *n == name) {
                existing.1.push(',');
                existing.1.push_str(&value);
                continue;
            }
        }
        headers.push((name, value));
    }
    // The test client (hyper) sends a content-length for every body, and `content-length: 0`
    // for an empty one on methods that carry a body.
    let body_method = matches!(ex.method.as_str(), "POST" | "PUT" | "PATCH");
    if (!ex.body.is_empty() || body_method) && !headers.iter().any(|(n, _)| n == "content-length") {
        headers.push(("content-length".into(), ex.body.len().to_string()));
    }
    if !headers.iter().any(|(n, _)| n == "x-forwarded-proto") {
        headers.push(("x-forwarded-proto".into(), "http".into()));
    }
    headers
}

/// The value of a pseudo-header (or any header) in a header list.
pub fn header<'a>(headers: &'a [HeaderPair], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// What the upstream receives once the filter chain let the request through with these headers
/// and body: pseudo-headers become the request line and `host`; the router adds
/// `x-envoy-expected-rq-timeout-ms`.
pub fn upstream_seen(headers: &[HeaderPair], body: &[u8]) -> UpstreamSeen {
    let mut out: Vec<HeaderPair> = Vec::new();
    if let Some(authority) = header(headers, ":authority") {
        out.push(("host".into(), authority.to_string()));
    }
    out.extend(headers.iter().filter(|(n, _)| !n.starts_with(':')).cloned());
    out.push((
        "x-envoy-expected-rq-timeout-ms".into(),
        ROUTE_TIMEOUT_MS.to_string(),
    ));
    UpstreamSeen {
        method: header(headers, ":method").unwrap_or("GET").to_string(),
        path: header(headers, ":path").unwrap_or("/").to_string(),
        headers: out,
        body: crate::outcome::display_bytes(body),
    }
}

/// The response headers (with `:status`) and body the response filter chain sees when the
/// upstream answers with `reply`.
pub fn upstream_response(reply: &UpstreamReply) -> (Vec<HeaderPair>, Vec<u8>) {
    let body = reply
        .body
        .clone()
        .unwrap_or_else(|| DEFAULT_UPSTREAM_BODY.to_string())
        .into_bytes();
    let mut headers: Vec<HeaderPair> = vec![(":status".into(), reply.status.to_string())];
    headers.extend(
        reply
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone())),
    );
    headers.push(("content-length".into(), body.len().to_string()));
    headers.push(("x-envoy-upstream-service-time".into(), "0".into()));
    (headers, body)
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
    let status = header(response_headers, ":status")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers: Vec<HeaderPair> = response_headers
        .iter()
        .filter(|(n, _)| !n.starts_with(':'))
        .cloned()
        .collect();
    headers.push(("server".into(), "envoy".into()));
    Outcome {
        status,
        response_headers: headers,
        body: crate::outcome::display_bytes(body),
        upstream,
    }
}

/// What the client gets when a Wasm filter panics or traps: Envoy answers 503 with an empty body,
/// and the VM stays broken (every later request on it gets the same). Observed in Envoy 1.40.
/// Like any local reply, it closes the connection when Envoy had not read the whole request.
pub fn wasm_failure_reply(request_complete: bool) -> (Vec<HeaderPair>, Vec<u8>) {
    local_reply(503, &[], &[], request_complete)
}
