//! The request format of `filterbench run --request FILE` (and of `filterbench record`):
//! `{"method", "path", "headers": [[name, value]], "body", "upstream", "calls"}`, every field
//! optional (GET / with no headers and no body, the upstream answering 200, no call scripts).
//! A file holds one request, a JSON array of requests, or one request per line (JSON lines).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::corpus::{
    headers_problem, path_problem, CallScript, HeaderPair, UpstreamReply, MAX_BODY_LEN,
};
use crate::{Error, Result};

/// One request of `filterbench run`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// A name for the request (`record` makes it the scenario's name; `run` shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default)]
    pub headers: Vec<HeaderPair>,
    #[serde(default)]
    pub body: String,
    /// How the upstream answers this request (default: 200, no headers, `upstream ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamReply>,
    /// Replies to the filter's outgoing calls while this request runs (before `--calls`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallScript>,
}

fn default_method() -> String {
    "GET".into()
}

fn default_path() -> String {
    "/".into()
}

impl RunRequest {
    /// What is wrong with this request, if anything (one line, without the file's name).
    pub fn problem(&self) -> Option<String> {
        if self.method.is_empty() || !self.method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Some(format!(
                "method {:?} must be an upper-case token",
                self.method
            ));
        }
        if let Some(problem) = path_problem(&self.path) {
            return Some(problem);
        }
        if self.body.len() > MAX_BODY_LEN {
            return Some(format!(
                "body is {} bytes, more than {MAX_BODY_LEN}",
                self.body.len()
            ));
        }
        let upstream = self.upstream.iter().flat_map(|u| u.headers.iter());
        if let Some(problem) = headers_problem(self.headers.iter().chain(upstream)) {
            return Some(problem);
        }
        self.calls.iter().find_map(CallScript::problem)
    }
}

/// Parses a request file: one JSON request, a JSON array of them, or JSON lines. Errors name the
/// file (and the line or the request's number).
pub fn parse_requests(path: &Path, text: &str) -> Result<Vec<RunRequest>> {
    let parse_error = |message: String| Error::Parse {
        path: path.to_path_buf(),
        message: crate::one_line(&message),
    };
    let trimmed = text.trim_start();
    let requests: Vec<RunRequest> = if trimmed.starts_with('[') {
        serde_json::from_str(text).map_err(|e| parse_error(format!("{e}")))?
    } else {
        // One JSON value per line, or a single value spread over several lines.
        match serde_json::from_str::<RunRequest>(text) {
            Ok(one) => vec![one],
            Err(whole) => {
                let mut out = Vec::new();
                for (i, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let request = serde_json::from_str(line).map_err(|e| {
                        if i == 0 && !line.trim_end().ends_with('}') {
                            parse_error(format!("{whole}"))
                        } else {
                            parse_error(format!("line {}: {e}", i + 1))
                        }
                    })?;
                    out.push(request);
                }
                out
            }
        }
    };
    if requests.is_empty() {
        return Err(Error::invalid(path, "no requests in the file"));
    }
    for (i, request) in requests.iter().enumerate() {
        if let Some(problem) = request.problem() {
            let name = request
                .name
                .as_ref()
                .map_or_else(String::new, |n| format!(" {n:?}"));
            return Err(Error::invalid(
                path,
                format!("request {}{name}: {problem}", i + 1),
            ));
        }
    }
    Ok(requests)
}

/// Reads a request file.
pub fn read_requests(path: &Path) -> Result<Vec<RunRequest>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_requests(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_an_array_or_json_lines() {
        let path = Path::new("req.json");
        let one = parse_requests(
            path,
            "{\n  \"path\": \"/a\",\n  \"headers\": [[\"x\", \"1\"]]\n}\n",
        )
        .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(
            (one[0].method.as_str(), one[0].path.as_str()),
            ("GET", "/a")
        );
        let array =
            parse_requests(path, r#"[{"path":"/a"},{"method":"POST","body":"b"}]"#).unwrap();
        assert_eq!(array.len(), 2);
        assert_eq!(array[1].body, "b");
        let lines = parse_requests(
            path,
            "{\"path\":\"/a\"}\n\n{\"path\":\"/b\",\"calls\":[{\"cluster\":\"c\",\"path\":\"/x\"}],\"upstream\":{\"status\":201}}\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].calls[0].cluster, "c");
        assert_eq!(lines[1].upstream.as_ref().unwrap().status, 201);
    }

    /// What the client cannot send is refused when the file is read, naming the request.
    #[test]
    fn a_path_with_a_space_or_a_header_with_a_newline_is_refused_naming_the_request() {
        let path = Path::new("req.jsonl");
        for (text, wanted) in [
            (
                "{\"path\": \"/search?q=a b\"}",
                "req.jsonl: request 1: path \"/search?q=a b\" has a space at byte 11",
            ),
            (
                "{\"path\":\"/\"}\n{\"name\":\"login\",\"path\":\"/a<b\"}",
                "request 2 \"login\": path \"/a<b\" has '<'",
            ),
            ("{\"path\": \"/a#top\"}", "'#'"),
            (
                "{\"headers\": [[\"x\", \"a\\r\\nevil: 1\"]]}",
                "request 1: header x: value",
            ),
            ("{\"headers\": [[\"a(b\", \"1\"]]}", "header name \"a(b\""),
        ] {
            let e = parse_requests(path, text).unwrap_err().to_string();
            assert!(e.contains(wanted), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        // What hyper sends as it is stays allowed.
        parse_requests(
            path,
            "{\"path\": \"/a/\\\"%20b\\\"?q={x:1}&r=`~|\", \"headers\": [[\"x\", \"tab\\there é\"]]}",
        )
        .unwrap();
    }

    #[test]
    fn bad_requests_are_one_line_errors_naming_the_file() {
        let path = Path::new("req.jsonl");
        for (text, wanted) in [
            ("", "no requests"),
            ("{\"path\":\"/a\"}\n{\"pth\":\"/b\"}\n", "line 2"),
            ("{\"path\":\"a\"}", "must start with '/'"),
            (
                "[{\"path\":\"/\"},{\"method\":\"get\"}]",
                "request 2: method",
            ),
            (
                "{\"calls\":[{\"cluster\":\"c\",\"path\":\"/\",\"reset\":true,\"timeout\":true}]}",
                "not both",
            ),
            ("{\"headers\":[[\"a b\",\"1\"]]}", "header name"),
            ("{\"path\":", "EOF"),
        ] {
            let e = parse_requests(path, text).unwrap_err().to_string();
            assert!(e.starts_with("req.jsonl: "), "{e}");
            assert!(e.contains(wanted), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
}
