//! Generated exchanges for equivalence fuzzing, seeded from a pair's own corpus: the header
//! names, values, paths and bodies its scenarios use, mutated (letter case, empty values,
//! repetition, non-ASCII, truncation, JSON-ish bodies). Being data-driven, it works for a user's
//! own pair without code.

use std::collections::BTreeSet;

use proptest::prelude::*;

use filterbench_model::corpus::{Corpus, HeaderPair, UpstreamReply};

use super::Exchange;

/// The words a pair's corpus speaks.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub names: Vec<String>,
    pub values: Vec<String>,
    pub paths: Vec<String>,
    pub bodies: Vec<String>,
    pub upstreams: Vec<UpstreamReply>,
}

impl Vocabulary {
    pub fn of(corpus: &Corpus) -> Vocabulary {
        let mut names = BTreeSet::new();
        let mut values = BTreeSet::new();
        let mut paths = BTreeSet::new();
        let mut bodies = BTreeSet::new();
        let mut upstreams = vec![UpstreamReply {
            status: 200,
            headers: Vec::new(),
            body: None,
        }];
        for s in &corpus.scenarios {
            for (n, v) in s
                .headers
                .iter()
                .chain(&s.expect.request_headers)
                .chain(&s.expect.response_headers)
            {
                names.insert(n.to_ascii_lowercase());
                values.insert(v.clone());
            }
            paths.insert(s.path.clone());
            let body = s.body_bytes();
            if body.len() <= 4096 {
                if let Ok(text) = String::from_utf8(body) {
                    bodies.insert(text);
                }
            }
            if let Some(u) = &s.upstream {
                if !upstreams.contains(u) {
                    upstreams.push(u.clone());
                }
            }
        }
        names.retain(|n| n != "host" && n != "content-length" && n != "transfer-encoding");
        for extra in ["x-extra", "user-agent"] {
            names.insert(extra.to_string());
        }
        values.insert(String::new());
        paths.insert("/".into());
        bodies.insert(String::new());
        Vocabulary {
            names: names.into_iter().collect(),
            values: values.into_iter().collect(),
            paths: paths.into_iter().collect(),
            bodies: bodies.into_iter().collect(),
            upstreams,
        }
    }
}

/// How a corpus value is bent before use.
#[derive(Debug, Clone, Copy)]
enum Bend {
    Same,
    Upper,
    Lower,
    Empty,
    Truncate(usize),
    AppendNonAscii,
    Prefix(&'static str),
}

fn bend(value: &str, how: Bend) -> String {
    match how {
        Bend::Same => value.to_string(),
        Bend::Upper => value.to_ascii_uppercase(),
        Bend::Lower => value.to_ascii_lowercase(),
        Bend::Empty => String::new(),
        Bend::Truncate(n) => {
            let mut cut = n.min(value.len());
            while !value.is_char_boundary(cut) {
                cut -= 1;
            }
            value[..cut].to_string()
        }
        Bend::AppendNonAscii => format!("{value}é日"),
        Bend::Prefix(p) => format!("{p}{value}"),
    }
}

fn bends() -> impl Strategy<Value = Bend> {
    prop_oneof![
        6 => Just(Bend::Same),
        1 => Just(Bend::Upper),
        1 => Just(Bend::Lower),
        1 => Just(Bend::Empty),
        1 => (0usize..40).prop_map(Bend::Truncate),
        1 => Just(Bend::AppendNonAscii),
        1 => prop_oneof![Just("Bearer "), Just("bot"), Just("/api/v1/"), Just("{"), Just(" ")].prop_map(Bend::Prefix),
    ]
}

/// Header values must be valid for HTTP/1.1: no control characters, no surrounding whitespace
/// (Envoy trims it on the wire).
fn clean_value(v: String) -> String {
    v.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim_matches([' ', '\t'])
        .to_string()
}

fn json_ish() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("1".to_string()),
        Just("-0".to_string()),
        Just("1e5".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        "[a-z\u{e9}\\\\\"]{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z_]{0,5}", inner), 0..4).prop_map(|kv| {
                let fields: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// One exchange from the vocabulary.
pub fn exchange(vocab: &Vocabulary) -> impl Strategy<Value = Exchange> {
    let header = (
        prop::sample::select(vocab.names.clone()),
        prop::sample::select(vocab.values.clone()),
        bends(),
    )
        .prop_map(|(n, v, b)| (n, clean_value(bend(&v, b))));
    let headers = prop::collection::vec(header, 0..6).prop_flat_map(|hs: Vec<HeaderPair>| {
        // Sometimes repeat one of the headers, to exercise repeated-header handling.
        let len = hs.len();
        (Just(hs), any::<bool>(), 0..len.max(1)).prop_map(|(mut hs, repeat, i)| {
            if repeat && !hs.is_empty() {
                let h = hs[i].clone();
                hs.push(h);
            }
            hs
        })
    });
    let path = (prop::sample::select(vocab.paths.clone()), bends()).prop_map(|(p, b)| {
        let p = bend(&p, b);
        let p: String = p.chars().filter(|c| c.is_ascii_graphic()).collect();
        if p.starts_with('/') {
            p
        } else {
            format!("/{p}")
        }
    });
    let body = prop_oneof![
        3 => prop::sample::select(vocab.bodies.clone()),
        2 => json_ish(),
    ];
    let method = prop_oneof![
        Just("GET".to_string()),
        Just("POST".to_string()),
        Just("PUT".to_string())
    ];
    let upstream = prop::sample::select(vocab.upstreams.clone());
    (method, path, headers, body, upstream).prop_map(|(method, path, headers, body, upstream)| {
        Exchange {
            method,
            path,
            headers,
            body: body.into_bytes(),
            upstream,
        }
    })
}

/// A short sequence of exchanges (state such as a rate limiter's carries across it).
pub fn sequence(vocab: &Vocabulary) -> impl Strategy<Value = Vec<Exchange>> {
    prop::collection::vec(exchange(vocab), 1..=3)
}

/// The seed `verify --generated` uses unless told otherwise: the same pair, twin and count give
/// the same sequences, so the same answer twice.
pub const DEFAULT_SEED: u64 = 0x5eed_f11e;

/// A generated sequence on which Lua and the twin disagree, shrunk by proptest to a small case.
#[derive(Debug, Clone)]
pub struct GeneratedFailure {
    /// The shrunk sequence as `run` / `record` requests (JSON lines), named `generated_<i>`.
    pub requests: Vec<filterbench_model::request::RunRequest>,
    /// Which request differs and how (`request 2 of the sequence differs:` and the diff lines,
    /// or the filter error).
    pub reason: String,
}

/// Runs `cases` generated request sequences (seeded from the pair's corpus, and from `seed`)
/// through fresh Lua and twin VMs of `loaded` in-process and diffs every outcome. `Ok(None)`
/// when they all agree; the shrunk failing sequence otherwise. `twin` names the twin's kind in
/// the diff lines ("wasm", "go-wasm").
pub fn check(
    loaded: &super::driver::LoadedPair,
    corpus: &Corpus,
    cases: u32,
    seed: u64,
    twin: &str,
) -> Result<Option<GeneratedFailure>, String> {
    check_under(
        loaded,
        corpus,
        &loaded.pair.config_json(),
        cases,
        seed,
        twin,
    )
}

/// [`check`] with both twins configured with `configuration` (one of the pair's configurations, as
/// JSON) instead of `default`; the vocabulary is still the whole corpus', so requests recorded
/// under one configuration are tried under every other.
pub fn check_under(
    loaded: &super::driver::LoadedPair,
    corpus: &Corpus,
    configuration: &serde_json::Value,
    cases: u32,
    seed: u64,
    twin: &str,
) -> Result<Option<GeneratedFailure>, String> {
    use proptest::test_runner::TestRunner;
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng};

    let vocab = Vocabulary::of(corpus);
    let mut config = Config::with_cases(cases);
    config.failure_persistence = None;
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let started = std::time::SystemTime::now();
    let result = runner.run(&sequence(&vocab), |exchanges| {
        let mut env = super::Env::new(configuration.clone());
        env.responder = super::corpus_responder(corpus);
        env.clock = super::Clock::pinned(started);
        match super::driver::diff_sequence(loaded, &env, &exchanges) {
            Ok(None) => Ok(()),
            Ok(Some((i, lines))) => {
                let diff: Vec<String> = lines
                    .iter()
                    .map(|d| format!("    {}: lua {} | {twin} {}", d.field, d.left, d.right))
                    .collect();
                Err(TestCaseError::fail(format!(
                    "request {} of the sequence (generated_{}) differs:\n{}",
                    i + 1,
                    i + 1,
                    diff.join("\n")
                )))
            }
            Err(e) => Err(TestCaseError::fail(format!("filter error: {e}"))),
        }
    });
    match result {
        Ok(()) => Ok(None),
        Err(TestError::Fail(reason, exchanges)) => Ok(Some(GeneratedFailure {
            requests: exchanges
                .iter()
                .enumerate()
                .map(|(i, ex)| filterbench_model::request::RunRequest {
                    name: Some(format!("generated_{}", i + 1)),
                    method: ex.method.clone(),
                    path: ex.path.clone(),
                    headers: ex.headers.clone(),
                    body: String::from_utf8_lossy(&ex.body).into_owned(),
                    upstream: (ex.upstream != UpstreamReply::default())
                        .then(|| ex.upstream.clone()),
                    calls: Vec::new(),
                })
                .collect(),
            reason: reason.to_string(),
        })),
        Err(TestError::Abort(why)) => Err(format!("generated requests: {why}")),
    }
}
