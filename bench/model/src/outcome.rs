//! The outcome of one request through a filter, normalised so that two implementations can be
//! compared, the field-by-field diff of two outcomes, and the check of an outcome against a
//! scenario's expectations.
//!
//! An outcome is what the client got back (status, headers, body) plus, when the request reached
//! the upstream, what the upstream received (method, path, headers, body). Normalising drops the
//! headers the proxy itself adds with varying values, orders headers by name (keeping the order of
//! a repeated header's values), and masks values a filter generates (random ids, timestamps) that
//! the client did not send, keeping their length so a wrong shape still shows.

use serde::{Deserialize, Serialize};

use crate::catalogue::Normalise;
use crate::corpus::{Expect, HeaderPair};

/// Headers that the proxy (or the test rig) adds with values that vary from run to run or from
/// listener to listener; they are not the filter's doing and are left out of comparisons.
pub const VOLATILE_RESPONSE_HEADERS: &[&str] = &["date", "server", "x-envoy-upstream-service-time"];
pub const VOLATILE_REQUEST_HEADERS: &[&str] = &[
    "x-forwarded-proto",
    "x-envoy-expected-rq-timeout-ms",
    SCENARIO_HEADER,
];

/// The header with which the test client tells the echo upstream which scenario a request
/// belongs to.
pub const SCENARIO_HEADER: &str = "x-filterbench-scenario";

/// What the upstream received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamSeen {
    pub method: String,
    pub path: String,
    pub headers: Vec<HeaderPair>,
    pub body: String,
}

/// The outcome of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Status the client got.
    pub status: u16,
    /// Headers the client got.
    pub response_headers: Vec<HeaderPair>,
    /// Body the client got.
    pub body: String,
    /// What the upstream received; `None` for a local reply.
    pub upstream: Option<UpstreamSeen>,
}

/// Bytes as text: UTF-8 as it is, other bytes as `\xNN` (lossless for comparison and display).
pub fn display_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    fill_display_bytes(bytes, &mut out);
    out
}

/// [`display_bytes`] written into `out` (re-using its allocation).
pub fn fill_display_bytes(bytes: &[u8], out: &mut String) {
    out.clear();
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => {
            use std::fmt::Write;
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
        }
    }
}

/// All values of a header, in order (names compared case-insensitively).
pub fn values_of<'a>(headers: &'a [HeaderPair], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn normalise_headers(headers: &[HeaderPair], drop: &[&str]) -> Vec<HeaderPair> {
    let mut out: Vec<HeaderPair> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, _)| !drop.contains(&n.as_str()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0)); // stable: a repeated header keeps its order
    out
}

impl Outcome {
    /// The outcome made comparable: volatile headers dropped, headers ordered, generated values
    /// (per the pair's `normalise` rules) masked unless the client sent them (`sent` are the
    /// request headers the client sent).
    pub fn normalised(&self, rules: &Normalise, sent: &[HeaderPair]) -> Outcome {
        let sent_values = |name: &str| values_of(sent, name);
        let mask_headers = |headers: Vec<HeaderPair>| -> Vec<HeaderPair> {
            headers
                .into_iter()
                .map(|(n, v)| {
                    if rules
                        .generated_headers
                        .iter()
                        .any(|g| g.eq_ignore_ascii_case(&n))
                        && !sent_values(&n).contains(&v.as_str())
                    {
                        let masked = format!("<generated: {} bytes>", v.len());
                        (n, masked)
                    } else {
                        (n, v)
                    }
                })
                .collect()
        };
        let all_sent: Vec<&str> = sent.iter().map(|(_, v)| v.as_str()).collect();
        Outcome {
            status: self.status,
            response_headers: mask_headers(normalise_headers(
                &self.response_headers,
                VOLATILE_RESPONSE_HEADERS,
            )),
            body: self.body.clone(),
            upstream: self.upstream.as_ref().map(|u| UpstreamSeen {
                method: u.method.clone(),
                path: u.path.clone(),
                headers: mask_headers(normalise_headers(&u.headers, VOLATILE_REQUEST_HEADERS)),
                body: mask_json_fields(&u.body, &rules.generated_json_fields, &all_sent),
            }),
        }
    }
}

/// Replaces, in the text of a JSON object body, the values of the generated top-level fields
/// that the client did not send, keeping everything else byte for byte.
fn mask_json_fields(body: &str, fields: &[String], sent: &[&str]) -> String {
    if fields.is_empty() {
        return body.to_string();
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.to_string();
    };
    let mut out = body.to_string();
    for field in fields {
        let Some(value) = map.get(field) else {
            continue;
        };
        let as_text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if sent.contains(&as_text.as_str()) {
            continue;
        }
        let key = serde_json::to_string(field).expect("a string serialises");
        let needle = format!(
            "{key}:{}",
            serde_json::to_string(value).expect("a value serialises")
        );
        let kind = match value {
            serde_json::Value::String(_) => "string",
            serde_json::Value::Number(_) => "number",
            _ => "value",
        };
        out = out.replacen(
            &needle,
            &format!("{key}:\"<generated {kind}: {} bytes>\"", as_text.len()),
            1,
        );
    }
    out
}

/// One field on which two outcomes differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub field: String,
    pub left: String,
    pub right: String,
}

/// The differences between two normalised outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub lines: Vec<DiffLine>,
}

const ABSENT: &str = "(absent)";

fn show(text: &str) -> String {
    const MAX: usize = 160;
    if text.len() <= MAX {
        format!("{text:?}")
    } else {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{:?}… ({} bytes)", &text[..cut], text.len())
    }
}

fn show_values(values: &[&str]) -> String {
    if values.is_empty() {
        ABSENT.to_string()
    } else {
        values
            .iter()
            .map(|v| show(v))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn diff_headers(
    lines: &mut Vec<DiffLine>,
    prefix: &str,
    left: &[HeaderPair],
    right: &[HeaderPair],
) {
    let mut names: Vec<&str> = left.iter().chain(right).map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let (l, r) = (values_of(left, name), values_of(right, name));
        if l != r {
            lines.push(DiffLine {
                field: format!("{prefix}[{name}]"),
                left: show_values(&l),
                right: show_values(&r),
            });
        }
    }
}

impl Diff {
    /// Compares two (normalised) outcomes field by field.
    pub fn between(left: &Outcome, right: &Outcome) -> Diff {
        let mut lines = Vec::new();
        let mut field = |name: &str, l: String, r: String| {
            if l != r {
                lines.push(DiffLine {
                    field: name.to_string(),
                    left: l,
                    right: r,
                });
            }
        };
        field("status", left.status.to_string(), right.status.to_string());
        field(
            "upstream_reached",
            left.upstream.is_some().to_string(),
            right.upstream.is_some().to_string(),
        );
        if left.body != right.body {
            field("body", show(&left.body), show(&right.body));
        }
        if let (Some(l), Some(r)) = (&left.upstream, &right.upstream) {
            field("upstream.method", l.method.clone(), r.method.clone());
            field("upstream.path", show(&l.path), show(&r.path));
            if l.body != r.body {
                field("upstream.body", show(&l.body), show(&r.body));
            }
        }
        diff_headers(
            &mut lines,
            "response.header",
            &left.response_headers,
            &right.response_headers,
        );
        if let (Some(l), Some(r)) = (&left.upstream, &right.upstream) {
            diff_headers(&mut lines, "upstream.header", &l.headers, &r.headers);
        }
        Diff { lines }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// Checks an outcome (not normalised) against a scenario's expectations; returns one readable
/// line per unmet expectation. `sent_at_ms` is when the request was sent (ms since the epoch),
/// for `now_ms` matches.
pub fn check_expect(expect: &Expect, outcome: &Outcome, sent_at_ms: u64) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |field: &str, want: String, got: String| {
        failures.push(format!("{field}: expected {want}, got {got}"));
    };
    if outcome.status != expect.status {
        fail(
            "status",
            expect.status.to_string(),
            outcome.status.to_string(),
        );
    }
    if outcome.upstream.is_some() != expect.upstream_reached {
        fail(
            "upstream_reached",
            expect.upstream_reached.to_string(),
            outcome.upstream.is_some().to_string(),
        );
    }
    if let Some(body) = &expect.body {
        if &outcome.body != body {
            fail("body", show(body), show(&outcome.body));
        }
    }
    check_headers(
        &mut fail,
        "response.header",
        &outcome.response_headers,
        ExpectedHeaders {
            values: &expect.response_headers,
            absent: &expect.response_headers_absent,
            matching: &expect.response_headers_match,
        },
    );
    if let Some(up) = &outcome.upstream {
        check_upstream(&mut fail, expect, outcome, up, sent_at_ms);
    }
    failures
}

/// What a scenario expects of one side's headers: values, absences and patterns.
struct ExpectedHeaders<'a> {
    values: &'a [HeaderPair],
    absent: &'a [String],
    matching: &'a [HeaderPair],
}

/// Checks the headers `have` (of the side `prefix` names) against what is expected of them.
fn check_headers(
    fail: &mut dyn FnMut(&str, String, String),
    prefix: &str,
    have: &[HeaderPair],
    want: ExpectedHeaders,
) {
    let mut names: Vec<&str> = want.values.iter().map(|(n, _)| n.as_str()).collect();
    names.dedup();
    for name in names {
        let w = values_of(want.values, name);
        let h = values_of(have, name);
        if w != h {
            fail(
                &format!("{prefix}[{name}]"),
                show_values(&w),
                show_values(&h),
            );
        }
    }
    for name in want.absent {
        let h = values_of(have, name);
        if !h.is_empty() {
            fail(
                &format!("{prefix}[{name}]"),
                ABSENT.to_string(),
                show_values(&h),
            );
        }
    }
    for (name, pattern) in want.matching {
        let joined = values_of(have, name).join(",");
        let ok = !values_of(have, name).is_empty()
            && regex::Regex::new(pattern)
                .map(|re| re.is_match(&joined))
                .unwrap_or(false);
        if !ok {
            fail(
                &format!("{prefix}[{name}]"),
                format!("a value matching {pattern}"),
                show_values(&values_of(have, name)),
            );
        }
    }
}

/// Checks what the upstream received (headers, propagation, path, method, body, JSON body).
fn check_upstream(
    fail: &mut dyn FnMut(&str, String, String),
    expect: &Expect,
    outcome: &Outcome,
    up: &UpstreamSeen,
    sent_at_ms: u64,
) {
    check_headers(
        fail,
        "upstream.header",
        &up.headers,
        ExpectedHeaders {
            values: &expect.request_headers,
            absent: &expect.request_headers_absent,
            matching: &expect.request_headers_match,
        },
    );
    for name in &expect.propagated {
        let (u, r) = (
            values_of(&up.headers, name),
            values_of(&outcome.response_headers, name),
        );
        if u.is_empty() || u.join(",") != r.join(",") {
            fail(
                &format!("propagated[{name}]"),
                format!("response value = upstream value {}", show_values(&u)),
                show_values(&r),
            );
        }
    }
    if let Some(path) = &expect.upstream_path {
        if &up.path != path {
            fail("upstream.path", show(path), show(&up.path));
        }
    }
    if let Some(method) = &expect.upstream_method {
        if &up.method != method {
            fail("upstream.method", method.clone(), up.method.clone());
        }
    }
    if let Some(body) = &expect.upstream_body {
        if &up.body != body {
            fail("upstream.body", show(body), show(&up.body));
        }
    }
    if expect.upstream_json.is_some() || !expect.upstream_json_match.is_empty() {
        check_json(fail, expect, &up.body, sent_at_ms);
    }
}

fn check_json(
    fail: &mut dyn FnMut(&str, String, String),
    expect: &Expect,
    body: &str,
    sent_at_ms: u64,
) {
    let mut got = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => v,
        Err(e) => {
            return fail(
                "upstream.body",
                "JSON".into(),
                format!("{} ({e})", show(body)),
            )
        }
    };
    let mut want = expect
        .upstream_json
        .as_deref()
        .map(|j| serde_json::from_str::<serde_json::Value>(j).unwrap_or(serde_json::Value::Null));
    for (field, pattern) in &expect.upstream_json_match {
        let value = got.as_object_mut().and_then(|m| m.remove(field));
        if let Some(serde_json::Value::Object(w)) = want.as_mut() {
            w.remove(field);
        }
        let name = format!("upstream.json.{field}");
        match value {
            None => fail(&name, format!("present, matching {pattern}"), ABSENT.into()),
            Some(v) if pattern == "now_ms" => {
                let ok = v
                    .as_u64()
                    .is_some_and(|ms| ms.abs_diff(sent_at_ms) <= 120_000);
                if !ok {
                    fail(
                        &name,
                        format!("an integer within 120 s of {sent_at_ms}"),
                        v.to_string(),
                    );
                }
            }
            Some(v) => {
                let text = match &v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if !regex::Regex::new(pattern)
                    .map(|re| re.is_match(&text))
                    .unwrap_or(false)
                {
                    fail(&name, format!("a value matching {pattern}"), v.to_string());
                }
            }
        }
    }
    if let Some(want) = want {
        if want != got {
            fail("upstream.json", want.to_string(), show(&got.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<HeaderPair> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn outcome(resp: &[(&str, &str)], up: Option<&[(&str, &str)]>, up_body: &str) -> Outcome {
        Outcome {
            status: 200,
            response_headers: h(resp),
            body: String::new(),
            upstream: up.map(|u| UpstreamSeen {
                method: "GET".into(),
                path: "/".into(),
                headers: h(u),
                body: up_body.into(),
            }),
        }
    }

    #[test]
    fn normalising_orders_headers_and_drops_volatile_ones() {
        let o = outcome(
            &[("Date", "x"), ("b", "2"), ("a", "1"), ("b", "1")],
            None,
            "",
        );
        let n = o.normalised(&Normalise::default(), &[]);
        assert_eq!(n.response_headers, h(&[("a", "1"), ("b", "2"), ("b", "1")]));
    }

    #[test]
    fn generated_values_are_masked_unless_the_client_sent_them() {
        let rules = Normalise {
            generated_headers: vec!["x-trace-id".into()],
            generated_json_fields: vec!["request_id".into(), "server_timestamp".into()],
        };
        let o = outcome(
            &[("x-trace-id", "abcd")],
            Some(&[("x-trace-id", "abcd")]),
            r#"{"a":1,"request_id":"ffff","server_timestamp":1700000000000}"#,
        );
        let n = o.normalised(&rules, &[]);
        assert_eq!(
            n.response_headers,
            h(&[("x-trace-id", "<generated: 4 bytes>")])
        );
        assert_eq!(
            n.upstream.unwrap().body,
            r#"{"a":1,"request_id":"<generated string: 4 bytes>","server_timestamp":"<generated number: 13 bytes>"}"#
        );
        let kept = o.normalised(
            &rules,
            &h(&[("x-trace-id", "abcd"), ("x-request-id", "ffff")]),
        );
        assert_eq!(kept.response_headers, h(&[("x-trace-id", "abcd")]));
        assert!(kept
            .upstream
            .unwrap()
            .body
            .contains(r#""request_id":"ffff""#));
    }

    #[test]
    fn diff_names_each_differing_field() {
        let l = outcome(&[("hello", "world")], Some(&[("x", "1")]), "");
        let mut r = outcome(&[], Some(&[("x", "1"), ("x", "2")]), "");
        r.status = 403;
        let d = Diff::between(&l, &r);
        let fields: Vec<&str> = d.lines.iter().map(|l| l.field.as_str()).collect();
        assert_eq!(
            fields,
            ["status", "response.header[hello]", "upstream.header[x]"]
        );
        assert_eq!(d.lines[1].right, ABSENT);
        assert!(Diff::between(&l, &l).is_empty());
    }

    #[test]
    fn expectations_report_every_miss() {
        let o = outcome(&[("content-type", "text/plain")], None, "");
        let expect = Expect {
            status: 403,
            upstream_reached: true,
            response_headers: h(&[("content-type", "text/html")]),
            ..Expect::default()
        };
        let misses = check_expect(&expect, &o, 0);
        assert_eq!(misses.len(), 3, "{misses:?}");
        assert!(misses[0].starts_with("status: expected 403, got 200"));
    }

    #[test]
    fn now_ms_accepts_a_close_timestamp_only() {
        let o = outcome(&[], Some(&[]), r#"{"t":1000000,"a":1}"#);
        let expect = Expect {
            status: 200,
            upstream_reached: true,
            upstream_json: Some(r#"{"a":1}"#.into()),
            upstream_json_match: vec![("t".into(), "now_ms".into())],
            ..Expect::default()
        };
        assert!(check_expect(&expect, &o, 1_050_000).is_empty());
        assert_eq!(check_expect(&expect, &o, 9_000_000).len(), 1);
    }

    #[test]
    fn non_utf8_bytes_are_shown_escaped() {
        assert_eq!(display_bytes(b"a\xffb"), "a\\xffb");
        assert_eq!(display_bytes("é".as_bytes()), "é");
    }
}
