//! `filterbench record`: the Lua filter as the specification. Requests (a `run` request file or a
//! HAR export) are replayed through the Lua filter in a real Envoy by the caller; this module reads
//! the requests, turns each observed outcome into a scenario whose expectations are what the Lua
//! filter did (normalised as verify normalises), and appends the scenarios to the pair's corpus.
//!
//! What a recorded scenario expects:
//! - `status`, `upstream_reached`;
//! - every response header the client got and every request header the upstream received (and
//!   the absence of each header the client sent that the upstream did not receive), except
//!   the ones the proxy adds with varying values ([`crate::outcome::VOLATILE_RESPONSE_HEADERS`],
//!   [`crate::outcome::VOLATILE_REQUEST_HEADERS`]); a header the pair declares as generated
//!   (`normalise.generated_headers`) whose value the client did not send is expected by length
//!   (`*_match`);
//! - the body the client got when the filter answered itself or changed the upstream's body;
//!   the body, path and method the upstream received when the filter changed them (a JSON body with
//!   generated fields as `upstream_json` with those fields matched by shape);
//! - the lines the filter logged (Envoy's `script log: ...` text).
//!
//! Whatever is not an expectation is still compared Lua against Wasm by verify.

use std::path::Path;

use serde::Deserialize;

use crate::catalogue::Normalise;
use crate::corpus::{Corpus, Expect, HeaderPair, Scenario, UpstreamReply};
use crate::outcome::{values_of, Outcome, VOLATILE_REQUEST_HEADERS, VOLATILE_RESPONSE_HEADERS};
use crate::request::{parse_requests, RunRequest};
use crate::{Error, Result};

/// One request to record, and where it came from (for the scenario's description).
#[derive(Debug, Clone)]
pub struct Input {
    pub request: RunRequest,
    /// `line 3`, `request 2` or `entry 5` of the file.
    pub origin: String,
}

/// Reads the requests of `record --requests FILE`: a HAR file (a JSON object with `log`, or a
/// `.har` file name) or a `run` request file (one request, an array, or JSON lines).
pub fn read_inputs(path: &Path) -> Result<Vec<Input>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_inputs(path, &text)
}

/// [`read_inputs`] of a file's text (`path` names it in errors and, by its extension, may say
/// it is a HAR file); what the fuzzer (`fuzz/`) feeds.
pub fn parse_inputs(path: &Path, text: &str) -> Result<Vec<Input>> {
    let is_har = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("har"))
        || serde_json::from_str::<serde_json::Value>(text)
            .is_ok_and(|v| v.get("log").is_some_and(|l| l.is_object()));
    if is_har {
        return parse_har(path, text);
    }
    Ok(parse_requests(path, text)?
        .into_iter()
        .enumerate()
        .map(|(i, request)| Input {
            request,
            origin: format!("request {}", i + 1),
        })
        .collect())
}

#[derive(Deserialize)]
struct Har {
    log: HarLog,
}

#[derive(Deserialize)]
struct HarLog {
    #[serde(default)]
    entries: Vec<HarEntry>,
}

#[derive(Deserialize)]
struct HarEntry {
    request: HarRequest,
    #[serde(default)]
    response: Option<HarResponse>,
}

#[derive(Deserialize)]
struct HarRequest {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<HarHeader>,
    #[serde(default, rename = "postData")]
    post_data: Option<HarPostData>,
}

#[derive(Deserialize)]
struct HarHeader {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct HarPostData {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct HarResponse {
    #[serde(default)]
    status: i64,
    #[serde(default)]
    headers: Vec<HarHeader>,
    #[serde(default)]
    content: Option<HarContent>,
}

#[derive(Deserialize)]
struct HarContent {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
}

/// Headers a HAR shows that are about the connection or the framing, not the request: the rig's
/// client and Envoy set their own.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "content-length",
];

fn har_headers(headers: &[HarHeader], drop: &[&str]) -> Vec<HeaderPair> {
    headers
        .iter()
        .filter(|h| !h.name.starts_with(':'))
        .filter(|h| !drop.iter().any(|d| h.name.eq_ignore_ascii_case(d)))
        .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
        .collect()
}

/// The path and query of a HAR request URL (`https://host/a?b#c` -> `/a?b`).
fn path_of(url: &str) -> Option<String> {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let path = match without_fragment.split_once("://") {
        Some((_, rest)) => match rest.find(['/', '?']) {
            Some(at) if rest[at..].starts_with('/') => rest[at..].to_string(),
            Some(at) => format!("/{}", &rest[at..]),
            None => "/".to_string(),
        },
        None => without_fragment.to_string(),
    };
    path.starts_with('/').then_some(path)
}

/// Parses a HAR 1.2 export: each entry's request becomes a request to record, its response (when
/// there is one) the upstream's reply to it.
pub fn parse_har(path: &Path, text: &str) -> Result<Vec<Input>> {
    let har: Har = serde_json::from_str(text).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: crate::one_line(&format!("not a HAR file: {e}")),
    })?;
    if har.log.entries.is_empty() {
        return Err(Error::invalid(
            path,
            "HAR has no entries (log.entries is empty): export the requests with their content",
        ));
    }
    let mut inputs = Vec::new();
    for (i, entry) in har.log.entries.iter().enumerate() {
        let at = |message: String| Error::invalid(path, format!("entry {}: {message}", i + 1));
        let r = &entry.request;
        let Some(request_path) = path_of(&r.url) else {
            return Err(at(format!("url {:?} has no path", r.url)));
        };
        let upstream = entry
            .response
            .as_ref()
            .filter(|resp| (100..=999).contains(&resp.status))
            .map(|resp| {
                let body = resp.content.as_ref().and_then(|c| match &c.encoding {
                    Some(enc) if enc.eq_ignore_ascii_case("base64") => {
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD
                            .decode(c.text.as_deref().unwrap_or(""))
                            .ok()
                            .and_then(|bytes| String::from_utf8(bytes).ok())
                    }
                    _ => c.text.clone(),
                });
                let mut drop = HOP_BY_HOP.to_vec();
                // The HAR holds the decoded content: it is replayed unencoded.
                drop.push("content-encoding");
                UpstreamReply {
                    status: resp.status as u16,
                    headers: har_headers(&resp.headers, &drop),
                    body,
                }
            });
        let request = RunRequest {
            name: None,
            method: r.method.to_ascii_uppercase(),
            path: request_path,
            headers: har_headers(&r.headers, HOP_BY_HOP),
            body: r
                .post_data
                .as_ref()
                .and_then(|p| p.text.clone())
                .unwrap_or_default(),
            upstream,
            calls: Vec::new(),
        };
        if let Some(problem) = request.problem() {
            return Err(at(problem));
        }
        inputs.push(Input {
            request,
            origin: format!("entry {}", i + 1),
        });
    }
    Ok(inputs)
}

/// A scenario name for a request: its own `name`, else `<method>_<path words>`, made unique
/// against `taken` with `_2`, `_3`, ...
pub fn scenario_name(request: &RunRequest, taken: &[String]) -> String {
    let base = match &request.name {
        Some(name) => name.clone(),
        None => {
            let mut slug = String::new();
            let path = request.path.split('?').next().unwrap_or("");
            for c in format!("{} {path}", request.method).chars() {
                if c.is_ascii_alphanumeric() {
                    slug.push(c.to_ascii_lowercase());
                } else if !slug.ends_with('_') {
                    slug.push('_');
                }
            }
            let slug = slug.trim_matches('_');
            let mut cut = slug.len().min(40);
            while !slug.is_char_boundary(cut) {
                cut -= 1;
            }
            slug[..cut].trim_end_matches('_').to_string()
        }
    };
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|candidate| !taken.contains(candidate))
        .expect("some suffix is free")
}

fn is_generated(rules: &Normalise, name: &str, value: &str, sent: &[HeaderPair]) -> bool {
    rules
        .generated_headers
        .iter()
        .any(|g| g.eq_ignore_ascii_case(name))
        && !values_of(sent, name).contains(&value)
}

/// Splits observed headers into exact expectations and, for generated values, length matches.
fn header_expectations(
    headers: &[HeaderPair],
    volatile: &[&str],
    rules: &Normalise,
    sent: &[HeaderPair],
) -> (Vec<HeaderPair>, Vec<HeaderPair>) {
    let mut exact = Vec::new();
    let mut matching: Vec<HeaderPair> = Vec::new();
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| !volatile.contains(&n.as_str()))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let values = values_of(headers, &name);
        if values.iter().any(|v| is_generated(rules, &name, v, sent)) {
            let joined = values.join(",");
            matching.push((name, format!("^.{{{}}}$", joined.chars().count())));
        } else {
            exact.extend(values.into_iter().map(|v| (name.clone(), v.to_string())));
        }
    }
    (exact, matching)
}

/// The expectations of a scenario: what the Lua filter did with `request` (`outcome` as Envoy
/// produced it, `logs` the filter's log lines while serving it).
pub fn expectations(
    request: &RunRequest,
    outcome: &Outcome,
    logs: Vec<String>,
    rules: &Normalise,
) -> Expect {
    let sent = &request.headers;
    let (response_headers, response_headers_match) = header_expectations(
        &outcome.response_headers,
        VOLATILE_RESPONSE_HEADERS,
        rules,
        sent,
    );
    let mut expect = Expect {
        status: outcome.status,
        upstream_reached: outcome.upstream.is_some(),
        response_headers,
        response_headers_match,
        logs,
        ..Expect::default()
    };
    match &outcome.upstream {
        None => expect.body = Some(outcome.body.clone()),
        Some(up) => {
            let replied = request
                .upstream
                .as_ref()
                .and_then(|u| u.body.clone())
                .unwrap_or_else(|| crate::corpus::DEFAULT_UPSTREAM_BODY.to_string());
            if outcome.body != replied {
                expect.body = Some(outcome.body.clone());
            }
            let (request_headers, request_headers_match) =
                header_expectations(&up.headers, VOLATILE_REQUEST_HEADERS, rules, sent);
            expect.request_headers = request_headers;
            expect.request_headers_match = request_headers_match;
            // What the client sent and the filter removed.
            let mut removed: Vec<String> = sent
                .iter()
                .map(|(n, _)| n.to_ascii_lowercase())
                .filter(|n| values_of(&up.headers, n).is_empty())
                .collect();
            removed.sort();
            removed.dedup();
            expect.request_headers_absent = removed;
            if up.path != request.path {
                expect.upstream_path = Some(up.path.clone());
            }
            if up.method != request.method {
                expect.upstream_method = Some(up.method.clone());
            }
            if up.body != request.body {
                upstream_body_expectation(&mut expect, &up.body, rules, sent);
            }
        }
    }
    expect
}

/// The upstream body as an exact expectation, or as JSON with the generated fields matched by
/// shape when the pair declares such fields and the body is a JSON object carrying them.
fn upstream_body_expectation(
    expect: &mut Expect,
    body: &str,
    rules: &Normalise,
    sent: &[HeaderPair],
) {
    if let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str::<serde_json::Value>(body)
    {
        let sent_values: Vec<&str> = sent.iter().map(|(_, v)| v.as_str()).collect();
        let mut matched = Vec::new();
        for field in &rules.generated_json_fields {
            let Some(value) = map.get(field) else {
                continue;
            };
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if sent_values.contains(&text.as_str()) {
                continue;
            }
            map.remove(field);
            matched.push((field.clone(), format!("^.{{{}}}$", text.chars().count())));
        }
        if !matched.is_empty() {
            expect.upstream_json = Some(serde_json::Value::Object(map).to_string());
            expect.upstream_json_match = matched;
            return;
        }
    }
    expect.upstream_body = Some(body.to_string());
}

/// The message of each Lua log line in Envoy's log (`... script log: <message>`).
pub fn script_log_messages(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| line.split_once("script log: ").map(|(_, m)| m.to_string()))
        .filter(|m| !m.is_empty())
        .collect()
}

/// A recorded scenario: `request` named `name`, expecting `expect`.
pub fn scenario(
    name: String,
    description: String,
    request: &RunRequest,
    expect: Expect,
) -> Scenario {
    Scenario {
        name,
        description,
        config: None,
        method: request.method.clone(),
        path: request.path.clone(),
        headers: request.headers.clone(),
        body: (!request.body.is_empty()).then(|| request.body.clone()),
        body_repeat: None,
        before: 0,
        upstream: request.upstream.clone(),
        auth: None,
        calls: request.calls.clone(),
        expect,
    }
}

/// Whether Envoy answered a recorded request: a request that got no HTTP response (a reset, a
/// timeout, a body over the client's limit; [`Outcome::status`] 0) is an error, never an
/// expectation. The error says what the client saw.
pub fn answered(outcome: &Outcome) -> std::result::Result<(), String> {
    if outcome.status == 0 {
        let seen = outcome.body.trim();
        return Err(if seen.is_empty() {
            "was never answered (no HTTP response)".to_string()
        } else {
            format!("was never answered {seen}")
        });
    }
    Ok(())
}

/// A scenario of the corpus as a request (its `before` repetitions are separate steps).
pub fn request_of(scenario: &Scenario) -> RunRequest {
    RunRequest {
        name: Some(scenario.name.clone()),
        method: scenario.method.clone(),
        path: scenario.path.clone(),
        headers: scenario.headers.clone(),
        body: String::from_utf8_lossy(&scenario.body_bytes()).into_owned(),
        upstream: scenario.upstream.clone(),
        calls: scenario.calls.clone(),
    }
}

#[derive(serde::Serialize)]
struct Appended<'a> {
    scenario: &'a [Scenario],
}

/// The corpus text with `scenarios` added: new names appended after a comment line, a scenario
/// whose name exists replaced in place only with `replace` (else an error naming the corpus and
/// the scenario). The result is read back as `Corpus::load` reads it before it is returned, so a
/// corpus is never written in a state `Corpus::load` would refuse.
pub fn corpus_with(
    corpus_path: &Path,
    pair: &str,
    text: &str,
    scenarios: &[Scenario],
    comment: &str,
    replace: bool,
) -> Result<String> {
    let mut doc: toml::Table = toml::from_str(text).map_err(|e| Error::Parse {
        path: corpus_path.to_path_buf(),
        message: crate::toml_error(text, &e),
    })?;
    let existing: Vec<String> = doc
        .get("scenario")
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let (replacing, appending): (Vec<&Scenario>, Vec<&Scenario>) =
        scenarios.iter().partition(|s| existing.contains(&s.name));
    let out = if replacing.is_empty() {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        let added: Vec<Scenario> = appending.into_iter().cloned().collect();
        let rendered = toml::to_string(&Appended { scenario: &added })
            .map_err(|e| Error::invalid(corpus_path, format!("cannot write the scenarios: {e}")))?;
        out.push_str(&format!("\n# {comment}\n"));
        out.push_str(&rendered);
        out
    } else {
        if !replace {
            return Err(Error::invalid(
                corpus_path,
                format!(
                    "scenario {:?} exists already (nothing written; --force replaces it)",
                    replacing[0].name
                ),
            ));
        }
        // Replacing re-writes the whole file (its comments are lost; said in the new one).
        let list = doc
            .entry("scenario")
            .or_insert_with(|| toml::Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| Error::invalid(corpus_path, "`scenario` is not an array of tables"))?;
        for s in scenarios {
            let value = toml::Value::try_from(s).map_err(|e| {
                Error::invalid(corpus_path, format!("cannot write {:?}: {e}", s.name))
            })?;
            match list
                .iter()
                .position(|v| v.get("name").and_then(|n| n.as_str()) == Some(s.name.as_str()))
            {
                Some(at) => list[at] = value,
                None => list.push(value),
            }
        }
        let body = toml::to_string(&doc)
            .map_err(|e| Error::invalid(corpus_path, format!("cannot write the corpus: {e}")))?;
        format!("# Scenarios of {pair}; {comment} (rewritten: scenarios replaced).\n{body}")
    };
    // Every check `Corpus::load` makes (scenario names, paths, headers, regexes...).
    Corpus::parse(corpus_path, pair, &out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;

/// A Lua filter that does nothing: the same requests through it give what Envoy alone does, so
/// that what the recorded filter changed is the difference (see [`changes`]).
pub const NOTHING_LUA: &str = "function envoy_on_request(request_handle)\nend\n";

/// What the filter changed: the fields in which its outcome differs from Envoy's without it
/// (`alone`), both normalised as verify normalises them.
pub fn changes(
    request: &RunRequest,
    alone: &Outcome,
    filtered: &Outcome,
    rules: &Normalise,
) -> Vec<crate::outcome::DiffLine> {
    crate::outcome::Diff::between(
        &alone.normalised(rules, &request.headers),
        &filtered.normalised(rules, &request.headers),
    )
    .lines
}

/// The changes as one compact line: `upstream.header[x-tenant] (absent) -> "acme"; ...`, each
/// value cut to 40 characters; `nothing changed` when empty.
pub fn changes_line(changes: &[crate::outcome::DiffLine]) -> String {
    if changes.is_empty() {
        return "nothing changed".into();
    }
    let cut = |s: &str| -> String {
        if s.chars().count() > 40 {
            format!("{}...", s.chars().take(40).collect::<String>())
        } else {
            s.to_string()
        }
    };
    changes
        .iter()
        .map(|d| format!("{} {} -> {}", d.field, cut(&d.left), cut(&d.right)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How HTTP joins a repeated header's values into one (RFC 9110 5.3: `, `; `cookie`: `; `,
/// RFC 9113 8.2.3).
fn join_separator(name: &str) -> &'static str {
    if name.eq_ignore_ascii_case("cookie") {
        "; "
    } else {
        ", "
    }
}

/// Headers with every repeated name sent once, its values joined as HTTP joins them, at the
/// place of its first occurrence; and the repeated names (lower case).
fn joined_headers(headers: &[HeaderPair]) -> (Vec<HeaderPair>, Vec<String>) {
    let mut out: Vec<HeaderPair> = Vec::new();
    let mut repeated: Vec<String> = Vec::new();
    for (name, _) in headers {
        let lower = name.to_ascii_lowercase();
        if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            if !repeated.contains(&lower) {
                repeated.push(lower);
            }
            continue;
        }
        let values = values_of(headers, name);
        out.push((name.clone(), values.join(join_separator(name))));
    }
    (out, repeated)
}

/// The request with every repeated header (the same name more than once, any case) sent once,
/// its values joined as HTTP joins them; `None` when no header repeats.
pub fn joined_variant(request: &RunRequest) -> Option<(RunRequest, Vec<String>)> {
    let (headers, repeated) = joined_headers(&request.headers);
    if repeated.is_empty() {
        return None;
    }
    let mut joined = request.clone();
    joined.headers = headers;
    Some((joined, repeated))
}

/// Whether what the filter does depends on header multiplicity: its outcome with the headers
/// repeated (`repeated`) against its outcome for the same request with the values joined
/// (`joined`, of `joined_request`), every repeated header of both outcomes joined as HTTP joins
/// them first, so that only what the filter did differently remains. The differing fields.
pub fn multiplicity_diff(
    repeated: &Outcome,
    joined: &Outcome,
    joined_request: &RunRequest,
    rules: &Normalise,
) -> Vec<crate::outcome::DiffLine> {
    let canonical = |o: &Outcome| {
        let mut o = o.clone();
        o.response_headers = joined_headers(&o.response_headers).0;
        if let Some(up) = o.upstream.as_mut() {
            up.headers = joined_headers(&up.headers).0;
        }
        o.normalised(rules, &joined_request.headers)
    };
    crate::outcome::Diff::between(&canonical(repeated), &canonical(joined)).lines
}

#[cfg(test)]
mod change_tests {
    use super::*;

    #[test]
    fn repeated_headers_are_joined_as_http_joins_them() {
        let request = RunRequest {
            name: None,
            method: "GET".into(),
            path: "/".into(),
            headers: vec![
                ("Cookie".into(), "a=1".into()),
                ("x-k".into(), "1".into()),
                ("cookie".into(), "session=x".into()),
                ("x-k".into(), "2".into()),
            ],
            body: String::new(),
            upstream: None,
            calls: Vec::new(),
        };
        let (joined, names) = joined_variant(&request).unwrap();
        assert_eq!(names, ["cookie", "x-k"]);
        assert_eq!(
            joined.headers,
            vec![
                ("Cookie".to_string(), "a=1; session=x".to_string()),
                ("x-k".to_string(), "1, 2".to_string())
            ]
        );
        let single = RunRequest {
            headers: vec![("cookie".into(), "a=1".into())],
            ..request
        };
        assert!(joined_variant(&single).is_none());
    }

    #[test]
    fn a_filter_that_treats_repeated_and_joined_values_alike_is_not_flagged() {
        use crate::outcome::UpstreamSeen;
        let request = RunRequest {
            name: None,
            method: "GET".into(),
            path: "/".into(),
            headers: vec![("cookie".into(), "a=1; session=x".into())],
            body: String::new(),
            upstream: None,
            calls: Vec::new(),
        };
        let reached = |cookies: &[&str]| Outcome {
            status: 200,
            upstream: Some(UpstreamSeen {
                method: "GET".into(),
                path: "/".into(),
                headers: cookies
                    .iter()
                    .map(|c| ("cookie".into(), c.to_string()))
                    .collect(),
                body: String::new(),
            }),
            ..Outcome::default()
        };
        let rules = Normalise::default();
        // Untouched: two headers upstream against one joined header: the same.
        assert!(multiplicity_diff(
            &reached(&["a=1", "session=x"]),
            &reached(&["a=1; session=x"]),
            &request,
            &rules
        )
        .is_empty());
        // The session stripped from the joined header but leaked from the repeated ones.
        let d = multiplicity_diff(
            &reached(&["a=1,session=x"]),
            &reached(&["a=1"]),
            &request,
            &rules,
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].field, "upstream.header[cookie]");
        assert_eq!(changes_line(&[]), "nothing changed");
    }
}
