use super::*;
use crate::outcome::UpstreamSeen;

fn h(pairs: &[(&str, &str)]) -> Vec<HeaderPair> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

const HAR: &str = r#"{"log": {"version": "1.2", "entries": [
  {"request": {"method": "GET", "url": "https://shop.example/api/items?page=2#top",
               "headers": [{"name": ":authority", "value": "shop.example"},
                           {"name": "User-Agent", "value": "curl/8"},
                           {"name": "Connection", "value": "keep-alive"}]},
   "response": {"status": 200, "headers": [{"name": "Content-Encoding", "value": "gzip"},
                                           {"name": "X-Up", "value": "1"}],
                "content": {"text": "eyJvayI6dHJ1ZX0=", "encoding": "base64"}}},
  {"request": {"method": "post", "url": "http://shop.example", "headers": [],
               "postData": {"mimeType": "application/json", "text": "{\"a\":1}"}},
   "response": {"status": 0, "headers": [], "content": {}}}
]}}"#;

#[test]
fn a_har_becomes_requests_with_their_upstream_replies() {
    let inputs = parse_har(Path::new("session.har"), HAR).unwrap();
    assert_eq!(inputs.len(), 2);
    let first = &inputs[0].request;
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("GET", "/api/items?page=2")
    );
    assert_eq!(first.headers, h(&[("user-agent", "curl/8")]));
    let up = first.upstream.as_ref().unwrap();
    assert_eq!(up.status, 200);
    assert_eq!(up.headers, h(&[("x-up", "1")]));
    assert_eq!(up.body.as_deref(), Some("{\"ok\":true}"));
    let second = &inputs[1].request;
    assert_eq!(
        (second.method.as_str(), second.path.as_str()),
        ("POST", "/")
    );
    assert_eq!(second.body, "{\"a\":1}");
    assert!(second.upstream.is_none(), "status 0: no reply recorded");
    assert_eq!(inputs[1].origin, "entry 2");
}

#[test]
fn a_har_without_entries_is_a_one_line_error_naming_the_file() {
    let e = parse_har(Path::new("empty.har"), r#"{"log":{"entries":[]}}"#)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("empty.har: HAR has no entries"), "{e}");
    assert_eq!(e.lines().count(), 1);
    let e = parse_har(
        Path::new("x.har"),
        r#"{"log":{"entries":[{"request":{"method":"GET","url":"https://h/a","headers":[{"name":"a b","value":"1"}]}}]}}"#,
    )
    .map(|_| ())
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("x.har: entry 1: header name"), "{e}");
    let e = parse_har(Path::new("x.har"), "not json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.har: not a HAR file"), "{e}");
}

#[test]
fn names_come_from_the_request_or_its_method_and_path() {
    let r = |method: &str, path: &str, name: Option<&str>| RunRequest {
        name: name.map(str::to_string),
        method: method.into(),
        path: path.into(),
        ..RunRequest::default()
    };
    assert_eq!(
        scenario_name(&r("GET", "/api/v1/Items?x=1", None), &[]),
        "get_api_v1_items"
    );
    assert_eq!(scenario_name(&r("GET", "/", None), &[]), "get");
    let taken = vec!["get".to_string(), "get_2".to_string()];
    assert_eq!(scenario_name(&r("GET", "/", None), &taken), "get_3");
    assert_eq!(scenario_name(&r("GET", "/", Some("home")), &taken), "home");
}

#[test]
fn expectations_are_what_the_filter_did() {
    let request = RunRequest {
        method: "POST".into(),
        path: "/a".into(),
        headers: h(&[("x-in", "1")]),
        body: "hello".into(),
        ..RunRequest::default()
    };
    let rules = Normalise {
        generated_headers: vec!["x-trace".into()],
        generated_json_fields: Vec::new(),
    };
    let outcome = Outcome {
        status: 200,
        response_headers: h(&[
            ("date", "now"),
            ("x-trace", "abcd"),
            ("hello", "world"),
            ("hello", "again"),
        ]),
        body: "upstream ok".into(),
        upstream: Some(UpstreamSeen {
            method: "POST".into(),
            path: "/b".into(),
            headers: h(&[
                ("x-in", "1"),
                ("x-forwarded-proto", "http"),
                ("x-trace", "abcd"),
            ]),
            body: "HELLO".into(),
        }),
    };
    let e = expectations(&request, &outcome, vec!["saw /a".into()], &rules);
    assert_eq!((e.status, e.upstream_reached), (200, true));
    assert_eq!(e.body, None, "the upstream's own body is not repeated");
    assert_eq!(
        e.response_headers,
        h(&[("hello", "world"), ("hello", "again")])
    );
    assert_eq!(e.response_headers_match, h(&[("x-trace", "^.{4}$")]));
    assert_eq!(e.request_headers, h(&[("x-in", "1")]));
    assert!(e.request_headers_absent.is_empty());
    assert_eq!(e.request_headers_match, h(&[("x-trace", "^.{4}$")]));
    assert_eq!(e.upstream_path.as_deref(), Some("/b"));
    let mut removed = outcome.clone();
    removed
        .upstream
        .as_mut()
        .unwrap()
        .headers
        .retain(|(n, _)| n != "x-in");
    let e2 = expectations(&request, &removed, Vec::new(), &rules);
    assert_eq!(e2.request_headers_absent, vec!["x-in".to_string()]);
    assert!(crate::outcome::check_expect(&e2, &removed, 0).is_empty());
    assert!(!crate::outcome::check_expect(&e2, &outcome, 0).is_empty());
    assert_eq!(e.upstream_method, None);
    assert_eq!(e.upstream_body.as_deref(), Some("HELLO"));
    assert_eq!(e.logs, vec!["saw /a".to_string()]);
    // The recorded expectations hold for the outcome they were recorded from ...
    assert!(crate::outcome::check_expect(&e, &outcome, 0).is_empty());

    let local = Outcome {
        status: 403,
        response_headers: h(&[("content-type", "text/plain")]),
        body: "Forbidden".into(),
        upstream: None,
    };
    let e = expectations(&request, &local, Vec::new(), &rules);
    assert_eq!((e.status, e.upstream_reached), (403, false));
    assert_eq!(e.body.as_deref(), Some("Forbidden"));
    assert!(crate::outcome::check_expect(&e, &local, 0).is_empty());
    // ... and not for another one.
    assert!(!crate::outcome::check_expect(&e, &outcome, 0).is_empty());
}

#[test]
fn generated_json_fields_are_matched_by_shape() {
    let request = RunRequest {
        method: "POST".into(),
        body: "{\"a\":1}".into(),
        ..RunRequest::default()
    };
    let rules = Normalise {
        generated_headers: Vec::new(),
        generated_json_fields: vec!["id".into()],
    };
    let outcome = Outcome {
        status: 200,
        response_headers: Vec::new(),
        body: "upstream ok".into(),
        upstream: Some(UpstreamSeen {
            method: "POST".into(),
            path: "/".into(),
            headers: Vec::new(),
            body: "{\"a\":1,\"id\":\"f00d\"}".into(),
        }),
    };
    let e = expectations(&request, &outcome, Vec::new(), &rules);
    assert_eq!(e.upstream_json.as_deref(), Some("{\"a\":1}"));
    assert_eq!(e.upstream_json_match, h(&[("id", "^.{4}$")]));
    assert!(crate::outcome::check_expect(&e, &outcome, 0).is_empty());
}

#[test]
fn script_log_lines_give_their_messages() {
    let lines = vec![
        "[2026-11-30 10:00:00.000][12][info][lua] [source/extensions/filters/http/lua/lua_filter.cc:900] script log: path is /a".to_string(),
        "[2026-11-30 10:00:00.000][12][debug][http] other".to_string(),
    ];
    assert_eq!(script_log_messages(&lines), vec!["path is /a".to_string()]);
}

#[test]
fn scenarios_are_appended_and_replaced_only_with_force() {
    let path = Path::new("corpus/p.toml");
    let text = "# my notes\npair = \"p\"\n";
    let request = RunRequest {
        method: "GET".into(),
        path: "/x".into(),
        ..RunRequest::default()
    };
    let expect = Expect {
        status: 200,
        upstream_reached: true,
        ..Expect::default()
    };
    let s = scenario("get_x".into(), "recorded".into(), &request, expect);
    let out = corpus_with(
        path,
        "p",
        text,
        std::slice::from_ref(&s),
        "recorded from r.jsonl",
        false,
    )
    .unwrap();
    assert!(out.starts_with("# my notes\n"), "{out}");
    let corpus: Corpus = toml::from_str(&out).unwrap();
    assert_eq!(corpus.scenarios.len(), 1);
    assert_eq!(corpus.scenarios[0].path, "/x");
    assert!(!out.contains("before"), "defaults are not written: {out}");

    let mut changed = s.clone();
    changed.expect.status = 403;
    let e = corpus_with(
        path,
        "p",
        &out,
        std::slice::from_ref(&changed),
        "again",
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("corpus/p.toml: scenario \"get_x\" exists already"),
        "{e}"
    );
    let replaced = corpus_with(path, "p", &out, &[changed], "again", true).unwrap();
    let corpus: Corpus = toml::from_str(&replaced).unwrap();
    assert_eq!(corpus.scenarios.len(), 1);
    assert_eq!(corpus.scenarios[0].expect.status, 403);

    let e = corpus_with(path, "q", text, &[s], "x", false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected \"q\""), "{e}");

    // What `Corpus::load` would refuse (here a name) is refused before it is written.
    let bad = scenario(
        "login-page".into(),
        "recorded".into(),
        &request,
        Expect::default(),
    );
    let e = corpus_with(path, "p", text, &[bad], "x", false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("scenario \"login-page\": name must be [a-z0-9_]+"),
        "{e}"
    );
}
