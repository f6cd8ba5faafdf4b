//! Scripted outgoing calls in-process: a [`CallBook`] knows which clusters exist (every cluster a
//! run's call scripts name) and the scripts of the request now running, and makes the
//! [`Responder`] a filter's `httpCall` / `dispatch_http_call` is answered by. The decision is
//! `filterbench_model::calls::answer`, the one the mock service behind real Envoy's scripted
//! clusters makes; what the filter then sees of a timeout or a reset is [`super::envoy`]'s.
//!
//! Calls to a scripted cluster are answered by the scripts (a cluster named `auth` in a script
//! replaces the built-in auth service); calls to `auth` otherwise by the corpus' auth replies
//! ([`auth_reply`]); calls to any other cluster are refused as Envoy refuses an unknown cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use filterbench_model::calls::{answer, Answer, MAX_HOLD_MS};
use filterbench_model::corpus::{AuthReply, CallScript, Corpus};

use super::{CallReply, CallRequest, Responder};

/// The cluster of the built-in auth service (`filterbench_load::services::Auth`).
pub const AUTH_CLUSTER: &str = "auth";

/// The scripted clusters of a run and the scripts of the request now running. Clones share the
/// scripts: set them on one, the responders made from any clone see them.
#[derive(Clone, Default)]
pub struct CallBook {
    clusters: Arc<BTreeSet<String>>,
    current: Arc<Mutex<Vec<CallScript>>>,
}

impl CallBook {
    /// A book in which `clusters` exist.
    pub fn new(clusters: impl IntoIterator<Item = String>) -> CallBook {
        CallBook {
            clusters: Arc::new(clusters.into_iter().collect()),
            current: Arc::default(),
        }
    }

    /// The clusters every scenario of `corpus` names.
    pub fn for_corpus(corpus: &Corpus) -> CallBook {
        CallBook::new(corpus.call_clusters())
    }

    /// The scripted clusters.
    pub fn clusters(&self) -> &BTreeSet<String> {
        &self.clusters
    }

    /// The scripts of the request about to run (replacing the previous request's).
    pub fn set(&self, scripts: &[CallScript]) {
        let mut current = self.current.lock().unwrap();
        current.clear();
        current.extend_from_slice(scripts);
    }

    /// The answer to `call`: `None` when its cluster is not scripted.
    pub fn reply(&self, call: &CallRequest) -> Option<CallReply> {
        if !self.clusters.contains(&call.cluster) {
            return None;
        }
        let path = call
            .headers
            .iter()
            .find(|(n, _)| n == ":path")
            .map_or("", |(_, v)| v.as_str());
        let current = self.current.lock().unwrap();
        Some(match answer(&current, &call.cluster, path) {
            Answer::Hold if call.timeout_ms <= MAX_HOLD_MS => CallReply::Timeout,
            // The mock gives up first and closes the connection.
            Answer::Hold => CallReply::Reset,
            Answer::Reset { delay_ms } | Answer::Reply { delay_ms, .. }
                if delay_ms >= call.timeout_ms =>
            {
                CallReply::Timeout
            }
            Answer::Reset { .. } => CallReply::Reset,
            Answer::Reply {
                status,
                headers,
                body,
                ..
            } => CallReply::Response {
                status,
                headers,
                body,
            },
        })
    }

    /// The responder of a run: the scripts first, then the built-in auth service with these
    /// replies (when `auth` is not scripted), and every other cluster unknown.
    pub fn responder(&self, auth: BTreeMap<String, AuthReply>) -> Responder {
        let book = self.clone();
        Arc::new(move |call: &CallRequest| {
            if let Some(reply) = book.reply(call) {
                reply
            } else if call.cluster == AUTH_CLUSTER {
                auth_reply(&auth, call)
            } else {
                CallReply::UnknownCluster
            }
        })
    }
}

/// The auth service of `filterbench_load::services`, in-process: answers a `POST /verify` whose
/// JSON body carries `token` with the scripted reply for that token (`{"valid":false}` for
/// unknown tokens); a reply slower than the call's timeout is a `Timeout`, `reset = true` a
/// `Reset`; other calls get the service's 404 or 400.
pub fn auth_reply(replies: &BTreeMap<String, AuthReply>, call: &CallRequest) -> CallReply {
    let text = |status: u16, body: &str| CallReply::Response {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: body.as_bytes().to_vec(),
    };
    let pseudo = |name: &str| {
        call.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let path = pseudo(":path").map(|p| p.split('?').next().unwrap_or(p));
    if pseudo(":method") != Some("POST") || path != Some("/verify") {
        return text(404, "auth: only POST /verify");
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&call.body) else {
        return text(400, "auth: body is not JSON");
    };
    let Some(token) = body.get("token").and_then(|t| t.as_str()) else {
        return text(400, "auth: body must be {\"token\": string}");
    };
    let json = vec![("content-type".to_string(), "application/json".to_string())];
    match replies.get(token) {
        None => CallReply::Response {
            status: 200,
            headers: json,
            body: br#"{"valid":false}"#.to_vec(),
        },
        Some(reply) if reply.delay_ms >= call.timeout_ms => CallReply::Timeout,
        Some(reply) if reply.reset => CallReply::Reset,
        Some(reply) => CallReply::Response {
            status: reply.status,
            headers: json,
            body: reply.body.clone().into_bytes(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(cluster: &str, path: &str, timeout_ms: u64) -> CallRequest {
        CallRequest {
            cluster: cluster.into(),
            headers: vec![
                (":method".into(), "GET".into()),
                (":path".into(), path.into()),
                (":authority".into(), cluster.into()),
            ],
            body: Vec::new(),
            timeout_ms,
        }
    }

    fn script(json: &str) -> CallScript {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn scripts_answer_their_clusters_and_other_clusters_do_not_exist() {
        let book = CallBook::new(["users".to_string()]);
        let responder = book.responder(BTreeMap::new());
        book.set(&[
            script(r#"{"cluster":"users","path":"/u","status":201,"body":"hi"}"#),
            script(r#"{"cluster":"users","path":"/r","reset":true}"#),
            script(r#"{"cluster":"users","path":"/t","timeout":true}"#),
            script(r#"{"cluster":"users","path":"/slow","delay_ms":500}"#),
        ]);
        assert_eq!(
            responder(&call("users", "/u", 1000)),
            CallReply::Response {
                status: 201,
                headers: Vec::new(),
                body: b"hi".to_vec()
            }
        );
        assert_eq!(responder(&call("users", "/r", 1000)), CallReply::Reset);
        assert_eq!(responder(&call("users", "/t", 1000)), CallReply::Timeout);
        assert_eq!(responder(&call("users", "/t", u64::MAX)), CallReply::Reset);
        assert_eq!(responder(&call("users", "/slow", 200)), CallReply::Timeout);
        assert!(matches!(
            responder(&call("users", "/slow", 1000)),
            CallReply::Response { status: 200, .. }
        ));
        assert_eq!(
            responder(&call("users", "/other", 1000)),
            CallReply::Response {
                status: 404,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: b"no scripted reply for users /other".to_vec()
            }
        );
        assert_eq!(
            responder(&call("nowhere", "/u", 1000)),
            CallReply::UnknownCluster
        );
        // The next request's scripts replace these; the cluster still exists.
        book.set(&[]);
        assert!(matches!(
            responder(&call("users", "/u", 1000)),
            CallReply::Response { status: 404, .. }
        ));
        // The built-in auth service answers `auth` when no script names it.
        assert!(matches!(
            responder(&call("auth", "/verify", 1000)),
            CallReply::Response { status: 404, .. }
        ));
    }

    #[test]
    fn a_scripted_auth_cluster_replaces_the_built_in_one() {
        let book = CallBook::new(["auth".to_string()]);
        let responder = book.responder(BTreeMap::new());
        book.set(&[script(
            r#"{"cluster":"auth","path":"/verify","status":204}"#,
        )]);
        assert!(matches!(
            responder(&call("auth", "/verify", 1000)),
            CallReply::Response { status: 204, .. }
        ));
    }
}
