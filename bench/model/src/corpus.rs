//! The scenario corpus of a pair: `bench/corpus/<pair>.toml`, format in `bench/corpus/README.md`.
//! Unknown fields are errors, so a typo cannot silently drop an expectation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

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

/// How the echo upstream answers a scenario's request.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamReply {
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<HeaderPair>,
    #[serde(default)]
    pub body: Option<String>,
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
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default)]
    pub headers: Vec<HeaderPair>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_repeat: Option<BodyRepeat>,
    /// Send the same request this many times before the checked one.
    #[serde(default)]
    pub before: u32,
    #[serde(default)]
    pub upstream: Option<UpstreamReply>,
    #[serde(default)]
    pub auth: Option<AuthReply>,
    pub expect: Expect,
}

/// What a scenario's outcome must show. Header names are compared case-insensitively.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: u16,
    pub upstream_reached: bool,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub response_headers: Vec<HeaderPair>,
    #[serde(default)]
    pub response_headers_absent: Vec<String>,
    #[serde(default)]
    pub request_headers: Vec<HeaderPair>,
    #[serde(default)]
    pub request_headers_absent: Vec<String>,
    #[serde(default)]
    pub request_headers_match: Vec<HeaderPair>,
    #[serde(default)]
    pub response_headers_match: Vec<HeaderPair>,
    #[serde(default)]
    pub propagated: Vec<String>,
    #[serde(default)]
    pub upstream_body: Option<String>,
    #[serde(default)]
    pub upstream_json: Option<String>,
    #[serde(default)]
    pub upstream_json_match: Vec<HeaderPair>,
    #[serde(default)]
    pub logs: Vec<String>,
}

impl Scenario {
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
                    "no scenarios yet: record some with `filterbench record --pair {pair} --requests FILE` \
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
        let mut corpus: Corpus = toml::from_str(&text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            message: crate::toml_error(&text, &e),
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
            if s.body.is_some() && s.body_repeat.is_some() {
                return Err(at("give body or body_repeat, not both".into()));
            }
            if !s.path.starts_with('/') {
                return Err(at(format!("path {:?} must start with '/'", s.path)));
            }
            if s.method.is_empty() || !s.method.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(at(format!(
                    "method {:?} must be an upper-case token",
                    s.method
                )));
            }
            for (name, _) in s
                .headers
                .iter()
                .chain(s.upstream.iter().flat_map(|u| u.headers.iter()))
            {
                if name.is_empty()
                    || name.starts_with(':')
                    || name.bytes().any(|b| b <= b' ' || b == b':')
                {
                    return Err(at(format!(
                        "header name {name:?} is not a valid HTTP header name"
                    )));
                }
            }
            for (field, pattern) in s
                .expect
                .request_headers_match
                .iter()
                .chain(&s.expect.response_headers_match)
            {
                regex::Regex::new(pattern).map_err(|e| {
                    at(format!(
                        "bad regex for {field}: {}",
                        crate::one_line(&e.to_string())
                    ))
                })?;
            }
            for (field, pattern) in &s.expect.upstream_json_match {
                if pattern != "now_ms" {
                    regex::Regex::new(pattern).map_err(|e| {
                        at(format!(
                            "bad regex for {field}: {}",
                            crate::one_line(&e.to_string())
                        ))
                    })?;
                }
            }
            if let Some(json) = &s.expect.upstream_json {
                serde_json::from_str::<serde_json::Value>(json)
                    .map_err(|e| at(format!("upstream_json is not JSON: {e}")))?;
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

    /// Every token → auth reply the corpus defines.
    pub fn auth_replies(&self) -> BTreeMap<String, AuthReply> {
        self.scenarios
            .iter()
            .filter_map(|s| s.auth.clone().map(|a| (s.auth_token(), a)))
            .collect()
    }
}
