//! The scenario corpus of a pair: `bench/corpus/<pair>.toml`, format in `bench/corpus/README.md`.
//! Unknown fields are errors, so a typo cannot silently drop an expectation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalogue::Pair;
use crate::{Error, Result};

/// The scenarios of a corpus that run under one configuration ([`Corpus::by_config`]).
#[derive(Debug, Clone)]
pub struct ConfigPart {
    /// The configuration's name (`default`, or a key of the pair's `configs`).
    pub name: String,
    /// The configuration as JSON: the Wasm plugin configuration and the Lua route metadata.
    pub config: serde_json::Value,
    /// Those scenarios, in corpus order.
    pub corpus: Corpus,
}

/// A header as `[name, value]`.
pub type HeaderPair = (String, String);

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Corpus {
    pub pair: String,
    #[serde(rename = "scenario", default)]
    pub scenarios: Vec<Scenario>,
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BodyRepeat {
    pub text: String,
    pub times: usize,
}

/// The body the echo upstream answers a scenario's request with when its reply gives none.
pub const DEFAULT_UPSTREAM_BODY: &str = "upstream ok";

/// How the echo upstream answers a scenario's request. The default (and serde's, field by field)
/// is a 200 reply with no headers and the echo body: the reply when a scenario scripts none.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamReply {
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<HeaderPair>,
    #[serde(default)]
    pub body: Option<String>,
}

impl Default for UpstreamReply {
    fn default() -> Self {
        UpstreamReply {
            status: default_status(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// How the auth service answers a call carrying a scenario's token.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthReply {
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub delay_ms: u64,
    /// Close the connection without answering.
    #[serde(default)]
    pub reset: bool,
}

/// A scripted reply to a filter's outgoing call (Lua `httpCall`, proxy-wasm
/// `dispatch_http_call`) to `cluster` whose `:path` equals `path`. A cluster named in any script
/// exists (in real Envoy: a static cluster pointing at a loopback mock service); a call to it
/// that no script matches gets 404 (see [`crate::calls`]). The same fields in a corpus scenario
/// (`[[scenario.calls]]`) and in `filterbench run --calls FILE` (a JSON array).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CallScript {
    pub cluster: String,
    pub path: String,
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<HeaderPair>,
    #[serde(default)]
    pub body: String,
    /// Wait this long before answering (a reply at or after the call's timeout is a timeout).
    #[serde(default)]
    pub delay_ms: u64,
    /// Close the connection without answering.
    #[serde(default)]
    pub reset: bool,
    /// Give no answer before the call's timeout.
    #[serde(default)]
    pub timeout: bool,
}

impl CallScript {
    /// What is wrong with this script, if anything (one line, without the file's name).
    pub fn problem(&self) -> Option<String> {
        if self.cluster.is_empty() || self.cluster.bytes().any(|b| b <= b' ') {
            return Some(format!(
                "call script cluster {:?} must be a non-empty name without spaces",
                self.cluster
            ));
        }
        if self.cluster == "echo" {
            return Some(
                "call script cluster \"echo\" is the upstream's cluster: name another".into(),
            );
        }
        if !self.path.starts_with('/') {
            return Some(format!(
                "call script for cluster {:?}: path {:?} must start with '/'",
                self.cluster, self.path
            ));
        }
        if self.reset && self.timeout {
            return Some(format!(
                "call script {} {}: give reset or timeout, not both",
                self.cluster, self.path
            ));
        }
        if !(100..=999).contains(&self.status) {
            return Some(format!(
                "call script {} {}: status {} is not an HTTP status",
                self.cluster, self.path, self.status
            ));
        }
        for (name, _) in &self.headers {
            if !valid_header_name(name) {
                return Some(format!(
                    "call script {} {}: header name {name:?} is not a valid HTTP header name",
                    self.cluster, self.path
                ));
            }
        }
        None
    }
}

/// A header name a client may send: an HTTP token (letters, digits, ``!#$%&'*+-.^_`|~``), so no
/// pseudo-header, no spaces or colons.
pub fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value a client may send: no control character but tab (no CR, LF, NUL).
pub fn valid_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (b >= b' ' && b != 0x7f) || b == b'\t')
}

/// The longest request target the client sends (its HTTP library's limit).
pub const MAX_PATH_LEN: usize = u16::MAX as usize - 1;

/// The most bytes a request body may have (a `body_repeat` too).
pub const MAX_BODY_LEN: usize = 16 << 20;

/// What is wrong with a request path as the target of a request line, if anything: it must
/// start with `/`, and every byte must be one a client sends as it is (a space, a control
/// character, `<`, `>`, `` ` `` in the path, `"` in the query or a `#` must be percent-encoded).
pub fn path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!("path {path:?} must start with '/'"));
    }
    if path.len() > MAX_PATH_LEN {
        return Some(format!(
            "path is {} bytes long, more than {MAX_PATH_LEN}",
            path.len()
        ));
    }
    let query_from = path.find('?').unwrap_or(path.len());
    let bad = path.bytes().enumerate().find(|&(i, b)| {
        let common = b == b'!' || (0x24..=0x3b).contains(&b) || b == b'=' || b >= 0x80;
        let allowed = if i < query_from {
            common
                || (0x40..=0x5f).contains(&b)
                || (0x61..=0x7a).contains(&b)
                || matches!(b, b'|' | b'~' | b'"' | b'{' | b'}')
        } else {
            common || (0x3f..=0x7e).contains(&b)
        };
        !allowed
    });
    bad.map(|(i, b)| {
        let what = match b {
            b' ' => "a space".to_string(),
            b'#' => "'#' (a fragment is never sent)".to_string(),
            b if b < 0x20 || b == 0x7f => format!("the control character {:?}", b as char),
            b => format!("{:?}", b as char),
        };
        format!(
            "path {path:?} has {what} at byte {i}, which a request line cannot carry: \
             percent-encode it (a space is %20)"
        )
    })
}

/// What is wrong with request (or reply) headers, if anything.
pub fn headers_problem<'a>(headers: impl IntoIterator<Item = &'a HeaderPair>) -> Option<String> {
    headers.into_iter().find_map(|(name, value)| {
        if !valid_header_name(name) {
            Some(format!(
                "header name {name:?} is not a valid HTTP header name"
            ))
        } else if !valid_header_value(value) {
            Some(format!(
                "header {name}: value {value:?} has a control character (CR, LF, NUL...)"
            ))
        } else {
            None
        }
    })
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_status() -> u16 {
    200
}

fn default_method() -> String {
    "GET".to_string()
}

fn default_path() -> String {
    "/".to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The pair's configuration the scenario runs under (`default` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderPair>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_repeat: Option<BodyRepeat>,
    /// Send the same request this many times before the checked one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub before: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamReply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthReply>,
    /// Replies to the filter's outgoing calls while this scenario runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallScript>,
    pub expect: Expect,
}

/// What a scenario's outcome must show. Header names are compared case-insensitively.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: u16,
    pub upstream_reached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<HeaderPair>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers_absent: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers: Vec<HeaderPair>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers_absent: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers_match: Vec<HeaderPair>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers_match: Vec<HeaderPair>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub propagated: Vec<String>,
    /// The path the upstream received, when a filter rewrites it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_path: Option<String>,
    /// The method the upstream received, when a filter changes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_json: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream_json_match: Vec<HeaderPair>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
}

impl Scenario {
    /// The name of the configuration the scenario runs under.
    pub fn config_name(&self) -> &str {
        self.config
            .as_deref()
            .unwrap_or(crate::catalogue::DEFAULT_CONFIG)
    }

    /// The request body bytes.
    pub fn body_bytes(&self) -> Vec<u8> {
        match (&self.body, &self.body_repeat) {
            (Some(body), _) => body.as_bytes().to_vec(),
            (None, Some(rep)) => rep.text.repeat(rep.times).into_bytes(),
            (None, None) => Vec::new(),
        }
    }

    /// The `authorization` value the filter will send to the auth service as token.
    pub fn auth_token(&self) -> String {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.as_str())
            .collect();
        values.join(",")
    }

    /// What is wrong with the scenario's configuration name, request, upstream reply or calls,
    /// if anything.
    fn request_problem(&self) -> Option<String> {
        if !crate::catalogue::valid_name(self.config_name()) {
            return Some(format!(
                "config {:?} must name one of the pair's configurations ([a-z0-9_]+)",
                self.config_name()
            ));
        }
        if self.body.is_some() && self.body_repeat.is_some() {
            return Some("give body or body_repeat, not both".into());
        }
        if let Some(problem) = path_problem(&self.path) {
            return Some(problem);
        }
        if let Some(rep) = &self.body_repeat {
            if rep.text.len().saturating_mul(rep.times) > MAX_BODY_LEN {
                return Some(format!(
                    "body_repeat makes a body of {} x {} bytes, more than {MAX_BODY_LEN}",
                    rep.times,
                    rep.text.len()
                ));
            }
        }
        if self.method.is_empty() || !self.method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Some(format!(
                "method {:?} must be an upper-case token",
                self.method
            ));
        }
        headers_problem(
            self.headers
                .iter()
                .chain(self.upstream.iter().flat_map(|u| u.headers.iter())),
        )
        .or_else(|| self.calls.iter().find_map(CallScript::problem))
    }
}

impl Expect {
    /// What is wrong with the expectations (a bad regex, `upstream_json` that is not JSON), if
    /// anything.
    fn problem(&self) -> Option<String> {
        let regex_problem = |(field, pattern): &HeaderPair| {
            regex::Regex::new(pattern)
                .err()
                .map(|e| format!("bad regex for {field}: {}", crate::one_line(&e.to_string())))
        };
        self.request_headers_match
            .iter()
            .chain(&self.response_headers_match)
            .chain(
                self.upstream_json_match
                    .iter()
                    .filter(|(_, pattern)| pattern != "now_ms"),
            )
            .find_map(regex_problem)
            .or_else(|| {
                let json = self.upstream_json.as_ref()?;
                serde_json::from_str::<serde_json::Value>(json)
                    .err()
                    .map(|e| format!("upstream_json is not JSON: {e}"))
            })
    }
}

impl Corpus {
    /// Reads and checks the corpus file of `pair`, which must hold scenarios (an empty one, as
    /// `filterbench new` writes it, is an error that says how to fill it).
    pub fn load(path: &Path, pair: &str) -> Result<Self> {
        let corpus = Self::load_maybe_empty(path, pair)?;
        if corpus.scenarios.is_empty() {
            return Err(Error::invalid(
                path,
                format!(
                    "no scenarios yet: record some with `filterbench record [--workspace DIR] --pair {pair} --requests FILE` \
                     (or write [[scenario]] entries, format in bench/corpus/README.md)"
                ),
            ));
        }
        Ok(corpus)
    }

    /// [`Corpus::load`], an empty corpus allowed (tools that add scenarios to it).
    pub fn load_maybe_empty(path: &Path, pair: &str) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, pair, &text)
    }

    /// The corpus `text` of `pair` as [`Corpus::load_maybe_empty`] reads it from `path` (every
    /// check made): what a tool about to write a corpus checks first, and what the fuzzer feeds.
    pub fn parse(path: &Path, pair: &str, text: &str) -> Result<Self> {
        let mut corpus: Corpus = toml::from_str(text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            message: crate::toml_error(text, &e),
        })?;
        corpus.path = path.to_path_buf();
        if corpus.pair != pair {
            return Err(Error::invalid(
                path,
                format!("corpus is for pair {:?}, expected {:?}", corpus.pair, pair),
            ));
        }
        corpus.check()?;
        Ok(corpus)
    }

    fn check(&self) -> Result<()> {
        let path = &self.path;
        let mut names = BTreeMap::new();
        let mut tokens: BTreeMap<String, (&str, &AuthReply)> = BTreeMap::new();
        for s in &self.scenarios {
            let at = |msg: String| Error::invalid(path, format!("scenario {:?}: {msg}", s.name));
            if !crate::catalogue::valid_name(&s.name) {
                return Err(at("name must be [a-z0-9_]+".into()));
            }
            if names.insert(s.name.as_str(), ()).is_some() {
                return Err(at("name is used twice".into()));
            }
            if let Some(problem) = s.request_problem().or_else(|| s.expect.problem()) {
                return Err(at(problem));
            }
            if let Some(auth) = &s.auth {
                let token = s.auth_token();
                if let Some((other, reply)) = tokens.get(&token) {
                    if *reply != auth {
                        return Err(at(format!(
                            "token {token:?} is already claimed by scenario {other:?} with another auth reply"
                        )));
                    }
                }
                tokens.insert(token, (s.name.as_str(), auth));
            }
        }
        Ok(())
    }

    /// The corpus cut by configuration: for each of `pair`'s configurations that scenarios run
    /// under (in [`Pair::configurations`]' order), those scenarios in corpus order, as a corpus
    /// of their own (same path), with the configuration as JSON. What every proof replays, one
    /// part through twins configured with its configuration: a corpus whose scenarios all run
    /// under `default` is one part, the whole corpus. A scenario naming a configuration the pair
    /// does not have is an error naming the file, the scenario and the known names.
    pub fn by_config(&self, pair: &Pair) -> Result<Vec<ConfigPart>> {
        for s in &self.scenarios {
            if let Some(problem) = pair.config_problem(s.config_name()) {
                return Err(Error::invalid(
                    &self.path,
                    format!("scenario {:?}: {problem}", s.name),
                ));
            }
        }
        Ok(pair
            .configurations()
            .into_iter()
            .filter_map(|name| {
                let scenarios: Vec<Scenario> = self
                    .scenarios
                    .iter()
                    .filter(|s| s.config_name() == name)
                    .cloned()
                    .collect();
                (!scenarios.is_empty()).then(|| ConfigPart {
                    name: name.to_string(),
                    config: pair
                        .config_json_of(name)
                        .expect("a configuration of the pair"),
                    corpus: Corpus {
                        pair: self.pair.clone(),
                        scenarios,
                        path: self.path.clone(),
                    },
                })
            })
            .collect())
    }

    /// Every cluster the corpus' call scripts name (each exists for the whole corpus run).
    pub fn call_clusters(&self) -> std::collections::BTreeSet<String> {
        self.scenarios
            .iter()
            .flat_map(|s| s.calls.iter().map(|c| c.cluster.clone()))
            .collect()
    }

    /// Every token → auth reply the corpus defines.
    pub fn auth_replies(&self) -> BTreeMap<String, AuthReply> {
        self.scenarios
            .iter()
            .filter_map(|s| s.auth.clone().map(|a| (s.auth_token(), a)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Corpus> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text).unwrap();
        Corpus::load(&path, "p")
    }

    /// A `body_repeat` whose body would not fit in memory is an error naming the file and the
    /// scenario, not a capacity-overflow panic when the body is made.
    #[test]
    fn a_huge_body_repeat_is_refused_naming_the_scenario() {
        for times in ["9223372036854775807", "1000000000000"] {
            let e = load(&format!(
                "pair = \"p\"\n[[scenario]]\nname = \"big\"\nbody_repeat = {{ text = \"ab\", times = {times} }}\n[scenario.expect]\nstatus = 200\nupstream_reached = true\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.contains("p.toml: scenario \"big\": body_repeat"), "{e}");
        }
        let ok = load("pair = \"p\"\n[[scenario]]\nname = \"big\"\nbody_repeat = { text = \"ab\", times = 1000 }\n[scenario.expect]\nstatus = 200\nupstream_reached = true\n").unwrap();
        assert_eq!(ok.scenarios[0].body_bytes().len(), 2000);
    }

    /// A path or header the client cannot send is refused when the corpus is read.
    #[test]
    fn a_path_the_client_cannot_send_is_refused_naming_the_scenario() {
        let e = load("pair = \"p\"\n[[scenario]]\nname = \"space\"\npath = \"/search?q=a b\"\n[scenario.expect]\nstatus = 200\nupstream_reached = true\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("scenario \"space\": path \"/search?q=a b\" has a space"),
            "{e}"
        );
        let e = load("pair = \"p\"\n[[scenario]]\nname = \"crlf\"\nheaders = [[\"x\", \"a\\r\\nb\"]]\n[scenario.expect]\nstatus = 200\nupstream_reached = true\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("scenario \"crlf\": header x: value"), "{e}");
    }

    #[test]
    fn the_default_reply_is_the_one_serde_fills_in() {
        let from_serde: UpstreamReply = serde_json::from_str("{}").unwrap();
        assert_eq!(from_serde, UpstreamReply::default());
        assert_eq!(UpstreamReply::default().status, 200);
    }
}
