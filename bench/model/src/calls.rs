//! Scripted replies to a filter's outgoing calls ([`CallScript`]), decided the same way by the
//! in-process host (`filterbench_bench::harness::calls`) and by the loopback mock service that
//! real Envoy's scripted clusters point at (`filterbench_load::services::Mock`):
//!
//! - a cluster named in a script exists; a call to it whose `:path` no script matches gets 404
//!   `content-type: text/plain`, body `no scripted reply for <cluster> <path>`;
//! - a cluster named nowhere does not exist (Envoy refuses the call when it is made);
//! - `reset`: the connection is closed without an answer; `timeout`: no answer before the call's
//!   timeout, and never later than [`MAX_HOLD_MS`] (the mock then closes the connection);
//! - `delay_ms` at or beyond the call's timeout is a timeout too.
//!
//! Also the reader of `filterbench run --calls FILE` (a JSON array of scripts).

use std::path::Path;

use crate::corpus::{CallScript, HeaderPair};
use crate::{Error, Result};

/// The longest the mock service holds a call it must not answer (a `timeout` script, or a delay
/// longer than this); then it closes the connection.
pub const MAX_HOLD_MS: u64 = 30_000;

/// What the called service does with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Answer after `delay_ms`.
    Reply {
        status: u16,
        headers: Vec<HeaderPair>,
        body: Vec<u8>,
        delay_ms: u64,
    },
    /// Close the connection without answering (after `delay_ms`).
    Reset { delay_ms: u64 },
    /// Hold the call without answering (for at most [`MAX_HOLD_MS`]).
    Hold,
}

/// The first script for `cluster` and `path` (`path` as the call's `:path`, query included).
pub fn find<'a>(scripts: &'a [CallScript], cluster: &str, path: &str) -> Option<&'a CallScript> {
    scripts
        .iter()
        .find(|s| s.cluster == cluster && s.path == path)
}

/// The answer of the service behind `cluster` to a call for `path`: the matching script's, or
/// 404 when none matches.
pub fn answer(scripts: &[CallScript], cluster: &str, path: &str) -> Answer {
    match find(scripts, cluster, path) {
        None => Answer::Reply {
            status: 404,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: format!("no scripted reply for {cluster} {path}").into_bytes(),
            delay_ms: 0,
        },
        Some(s) if s.timeout => Answer::Hold,
        Some(s) if s.delay_ms >= MAX_HOLD_MS => Answer::Hold,
        Some(s) if s.reset => Answer::Reset {
            delay_ms: s.delay_ms,
        },
        Some(s) => Answer::Reply {
            status: s.status,
            headers: s.headers.clone(),
            body: s.body.clone().into_bytes(),
            delay_ms: s.delay_ms,
        },
    }
}

/// Checks scripts read from `path`: the first bad one is an error naming the file.
pub fn check(path: &Path, scripts: &[CallScript]) -> Result<()> {
    for (i, script) in scripts.iter().enumerate() {
        if let Some(problem) = script.problem() {
            return Err(Error::invalid(path, format!("call {}: {problem}", i + 1)));
        }
    }
    Ok(())
}

/// Parses the text of a `--calls` file: a JSON array of call scripts.
pub fn parse_scripts(path: &Path, text: &str) -> Result<Vec<CallScript>> {
    let scripts: Vec<CallScript> = serde_json::from_str(text).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: crate::one_line(&format!("not a JSON array of call scripts: {e}")),
    })?;
    check(path, &scripts)?;
    Ok(scripts)
}

/// Reads a `--calls` file.
pub fn read_scripts(path: &Path) -> Result<Vec<CallScript>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_scripts(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(json: &str) -> CallScript {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn answers_follow_the_scripts() {
        let scripts = vec![
            script(r#"{"cluster":"users","path":"/u/1","body":"{\"name\":\"ann\"}"}"#),
            script(r#"{"cluster":"users","path":"/u/2","reset":true}"#),
            script(r#"{"cluster":"users","path":"/u/3","timeout":true}"#),
            script(r#"{"cluster":"users","path":"/u/4","status":503,"delay_ms":40}"#),
        ];
        match answer(&scripts, "users", "/u/1") {
            Answer::Reply { status, body, .. } => {
                assert_eq!((status, body.as_slice()), (200, &br#"{"name":"ann"}"#[..]))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            answer(&scripts, "users", "/u/2"),
            Answer::Reset { delay_ms: 0 }
        );
        assert_eq!(answer(&scripts, "users", "/u/3"), Answer::Hold);
        assert!(matches!(
            answer(&scripts, "users", "/u/4"),
            Answer::Reply {
                status: 503,
                delay_ms: 40,
                ..
            }
        ));
        assert_eq!(
            answer(&scripts, "users", "/u/9"),
            Answer::Reply {
                status: 404,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: b"no scripted reply for users /u/9".to_vec(),
                delay_ms: 0,
            }
        );
    }

    #[test]
    fn a_bad_calls_file_is_a_one_line_error_naming_it() {
        let path = Path::new("calls.json");
        for (text, wanted) in [
            (r#"[{"cluster":"","path":"/"}]"#, "non-empty"),
            (r#"[{"cluster":"a","path":"x"}]"#, "must start with '/'"),
            (
                r#"[{"cluster":"a","path":"/","reset":true,"timeout":true}]"#,
                "not both",
            ),
            (r#"[{"cluster":"a","path":"/","status":42}]"#, "status 42"),
            (r#"[{"cluster":"a","path":"/","colour":1}]"#, "colour"),
            (r#"{"cluster":"a","path":"/"}"#, "JSON array"),
        ] {
            let e = parse_scripts(path, text).unwrap_err().to_string();
            assert!(e.starts_with("calls.json: "), "{e}");
            assert!(e.contains(wanted), "{text}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        assert_eq!(
            parse_scripts(path, r#"[{"cluster":"a","path":"/x"}]"#)
                .unwrap()
                .len(),
            1
        );
    }
}
