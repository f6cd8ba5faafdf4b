//! The CEL rules of CustomResourceDefinitions (`x-kubernetes-validations`), compiled and evaluated
//! with the `cel` crate (cel-rust) the way the Kubernetes API server evaluates them: each rule at
//! the schema node that carries it, with `self` bound to the value found there (every value of a
//! map for `additionalProperties`, every element for `items`), and the rule's `message` when it
//! evaluates to `false`.
//!
//! The crate provides the CEL language and its standard library (`has()`, `size()`, `contains`,
//! `startsWith`, `matches`, `all`/`exists` on lists and on map keys, `in`, ternaries, ...). What
//! Kubernetes adds on top of CEL and the crate cannot know is implemented here, in Rust, after
//! Kubernetes' own (Go) implementation: the URL library (`isURL`, `url`, `getScheme`,
//! `apiserver/pkg/cel/library/urls.go`, which parses with Go's `url.ParseRequestURI`). Nothing is
//! translated to JSON Schema any more.
//!
//! A rule that does not parse, or calls a function that neither the crate's standard library nor
//! this module provides, is an error when the CRD is loaded ([`Rule::compile`]): a newer CRD with
//! a rule this evaluator cannot run fails loudly instead of being skipped.

use std::collections::BTreeMap;
use std::sync::Arc;

use cel::extractors::This;
use cel::objects::{Opaque, Value as CelValue};
use cel::{Context, ExecutionError, Program};
use serde_json::Value;

use super::crd::escape_pointer;

/// The functions a rule may call: CEL's operators and macros and the standard functions of the
/// `cel` crate that CRD rules use (each exercised by this module's tests), plus the Kubernetes URL
/// library implemented here.
const SUPPORTED: &[&str] = &[
    // operators (the parser's names)
    "_==_",
    "_!=_",
    "_<_",
    "_<=_",
    "_>_",
    "_>=_",
    "_&&_",
    "_||_",
    "!_",
    "-_",
    "_+_",
    "_-_",
    "_*_",
    "_/_",
    "_%_",
    "_?_:_",
    "_[_]",
    "@in",
    "@not_strictly_false",
    // macros
    "has",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    // standard functions
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "string",
    "int",
    "uint",
    "double",
    "bool",
    "type",
    // Kubernetes' URL library (below)
    "isURL",
    "url",
    "getScheme",
];

/// One compiled `x-kubernetes-validations` rule.
pub struct Rule {
    /// The rule's text, as written in the CRD.
    pub text: String,
    /// `message` of the rule, or `failed rule: <rule>` (the API server's default).
    pub message: String,
    program: Program,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("text", &self.text)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// A CEL rule that cannot be compiled or evaluated, or a schema whose rules cannot be collected.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CelError {
    #[error("CEL rule {rule:?} does not parse: {message}")]
    Parse { rule: String, message: String },
    #[error(
        "CEL rule {rule:?} calls {functions} which this evaluator does not provide (add it to \
         loadgen/k8s/src/cel.rs)"
    )]
    Unsupported { rule: String, functions: String },
    #[error("CEL rule {rule:?}: {message}")]
    Evaluate { rule: String, message: String },
    #[error("{at}: {problem}")]
    Schema { at: String, problem: String },
    /// A rule's error, at its place in the schema.
    #[error("{at}: {source}")]
    At {
        at: String,
        #[source]
        source: Box<CelError>,
    },
}

impl Rule {
    /// Parses a rule and checks that every function it calls can be evaluated.
    pub fn compile(text: &str, message: Option<&str>) -> Result<Rule, CelError> {
        let program = Program::compile(text).map_err(|e| CelError::Parse {
            rule: text.to_string(),
            message: e.to_string(),
        })?;
        let references = program.references();
        let mut unknown: Vec<&str> = references
            .functions()
            .into_iter()
            .filter(|f| !SUPPORTED.contains(f))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(CelError::Unsupported {
                rule: text.to_string(),
                functions: unknown.join(", "),
            });
        }
        Ok(Rule {
            text: text.to_string(),
            message: message
                .map(str::to_string)
                .unwrap_or_else(|| format!("failed rule: {text}")),
            program,
        })
    }

    /// Evaluates the rule with `self` bound to `value`: `Ok(true)` when it holds, `Ok(false)` when
    /// it does not, `Err` when it cannot be evaluated (which the API server also rejects).
    pub fn evaluate(&self, value: &Value) -> Result<bool, CelError> {
        let failed = |message: String| CelError::Evaluate {
            rule: self.text.clone(),
            message,
        };
        let bound = cel::to_value(value).map_err(|e| failed(format!("cannot bind self: {e}")))?;
        let mut context = Context::default();
        context.add_variable_from_value("self", bound);
        add_url_library(&mut context).map_err(|e| failed(e.to_string()))?;
        match self.program.execute(&context) {
            Ok(CelValue::Bool(b)) => Ok(b),
            Ok(other) => Err(failed(format!("evaluated to {other:?}, not a bool"))),
            Err(e) => Err(failed(format!("failed: {e}"))),
        }
    }
}

/// A parsed URL, as Kubernetes' `url()` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    scheme: String,
}

impl Opaque for Url {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.URL"
    }
}

fn add_url_library(context: &mut Context<'_, '_>) -> Result<(), cel::DeclarationError> {
    context.add_function("isURL", |s: Arc<String>| parse_request_uri(&s).is_ok())?;
    context.add_function(
        "url",
        |s: Arc<String>| -> Result<CelValue, ExecutionError> {
            parse_request_uri(&s)
                .map(|url| CelValue::Opaque(Arc::new(url)))
                .map_err(|e| ExecutionError::function_error("url", e))
        },
    )?;
    context.add_function(
        "getScheme",
        |This(u): This<Arc<dyn Opaque>>| -> Result<CelValue, ExecutionError> {
            u.downcast_ref::<Url>()
                .map(|u| CelValue::String(Arc::new(u.scheme.clone())))
                .ok_or_else(|| ExecutionError::function_error("getScheme", "not a URL"))
        },
    )?;
    Ok(())
}

/// Go's `url.ParseRequestURI` as far as the scheme and validity go: the URL is absolute
/// (`scheme:...`) or an absolute path (`/...`); no control bytes; a scheme is a letter followed
/// by letters, digits, `+`, `-`, `.` (lower-cased); after `//` the authority's port, if any, is
/// digits.
fn parse_request_uri(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    if raw.is_empty() {
        return Err("empty url".into());
    }
    if raw == "*" {
        return Ok(Url {
            scheme: String::new(),
        });
    }
    let (scheme, rest) = get_scheme(raw)?;
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    if !rest.starts_with('/') {
        if !scheme.is_empty() {
            // An opaque URL such as `mailto:x` or `localhost:5000/repo`.
            return Ok(Url { scheme });
        }
        return Err("invalid URI for request".into());
    }
    if !scheme.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            let authority = after.split('/').next().unwrap_or("");
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let port = if host.starts_with('[') {
                host.rsplit_once("]:").map(|(_, p)| p)
            } else {
                host.rsplit_once(':').map(|(_, p)| p)
            };
            if let Some(port) = port {
                if !port.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("invalid port {port:?} after host"));
                }
            }
        }
    }
    Ok(Url { scheme })
}

fn get_scheme(raw: &str) -> Result<(String, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((raw[..i].to_ascii_lowercase(), &raw[i + 1..])),
            _ => return Ok((String::new(), raw)),
        }
    }
    Ok((String::new(), raw))
}

/// The CEL rules of a schema, in the schema's shape: the rules of each node and the children that
/// hold rules (`properties`, `additionalProperties`, `items`).
#[derive(Debug, Default)]
pub struct CelNode {
    rules: Vec<Rule>,
    properties: BTreeMap<String, CelNode>,
    additional: Option<Box<CelNode>>,
    items: Option<Box<CelNode>>,
}

impl CelNode {
    /// Compiles every rule under `node` (an `openAPIV3Schema` node at `ptr`).
    pub fn build(node: &Value, ptr: &str) -> Result<CelNode, CelError> {
        let mut out = CelNode::default();
        let Some(obj) = node.as_object() else {
            return Ok(out);
        };
        if let Some(list) = obj.get("x-kubernetes-validations") {
            let list = list.as_array().ok_or_else(|| CelError::Schema {
                at: format!("{ptr}/x-kubernetes-validations"),
                problem: "not an array".into(),
            })?;
            for rule in list {
                let text =
                    rule.get("rule")
                        .and_then(Value::as_str)
                        .ok_or_else(|| CelError::Schema {
                            at: format!("{ptr}/x-kubernetes-validations"),
                            problem: "a rule without `rule`".into(),
                        })?;
                let message = rule.get("message").and_then(Value::as_str);
                out.rules
                    .push(Rule::compile(text, message).map_err(|e| CelError::At {
                        at: ptr.to_string(),
                        source: Box::new(e),
                    })?);
            }
        }
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (name, schema) in props {
                let child = CelNode::build(
                    schema,
                    &format!("{ptr}/properties/{}", escape_pointer(name)),
                )?;
                if !child.is_empty() {
                    out.properties.insert(name.clone(), child);
                }
            }
        }
        for (key, slot) in [
            ("additionalProperties", &mut out.additional),
            ("items", &mut out.items),
        ] {
            if let Some(schema) = obj.get(key).filter(|v| v.is_object()) {
                let child = CelNode::build(schema, &format!("{ptr}/{key}"))?;
                if !child.is_empty() {
                    *slot = Some(Box::new(child));
                }
            }
        }
        for key in ["allOf", "anyOf", "oneOf", "not"] {
            let nested: Vec<&Value> = match obj.get(key) {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(v) => vec![v],
                None => continue,
            };
            for schema in nested {
                if !CelNode::build(schema, ptr)?.is_empty() {
                    return Err(CelError::Schema {
                        at: format!("{ptr}/{key}"),
                        problem: format!(
                            "x-kubernetes-validations inside {key} are not evaluated \
                             (Kubernetes does not allow them there either)"
                        ),
                    });
                }
            }
        }
        Ok(out)
    }

    fn is_empty(&self) -> bool {
        self.rules.is_empty()
            && self.properties.is_empty()
            && self.additional.is_none()
            && self.items.is_none()
    }

    /// Evaluates the rules against `value` (found at instance path `at`), appending a line per
    /// failed rule. `null` values are not checked (the API server skips them too).
    pub fn check(&self, value: &Value, at: &str, out: &mut Vec<String>) {
        if value.is_null() {
            return;
        }
        let shown = if at.is_empty() { "/" } else { at };
        for rule in &self.rules {
            match rule.evaluate(value) {
                Ok(true) => {}
                Ok(false) => out.push(format!(
                    "{shown}: {} (CEL rule `{}`)",
                    rule.message,
                    filterbench_model::one_line(&rule.text)
                )),
                Err(e) => out.push(format!("{shown}: {e}")),
            }
        }
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let child_at = format!("{at}/{}", escape_pointer(key));
                    if let Some(child) = self.properties.get(key) {
                        child.check(v, &child_at, out);
                    } else if let Some(child) = &self.additional {
                        child.check(v, &child_at, out);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(child) = &self.items {
                    for (i, v) in items.iter().enumerate() {
                        child.check(v, &format!("{at}/{i}"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(rule: &str, value: Value) -> bool {
        Rule::compile(rule, None)
            .unwrap()
            .evaluate(&value)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn standard_functions_the_rules_use() {
        assert!(holds("has(self.a) != has(self.b)", json!({ "a": 1 })));
        assert!(!holds(
            "has(self.a) != has(self.b)",
            json!({ "a": 1, "b": 2 })
        ));
        assert!(!holds("has(self.a) != has(self.b)", json!({})));
        let at_most_one = "(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) <= 1";
        assert!(holds(at_most_one, json!({ "b": 1 })));
        assert!(!holds(at_most_one, json!({ "a": 1, "b": 1 })));
        assert!(holds(
            "self.all(key, !key.contains(\"*\"))",
            json!({ "a": "1" })
        ));
        assert!(!holds(
            "self.all(key, !key.contains(\"*\"))",
            json!({ "a*": "1" })
        ));
        assert!(!holds("self.all(key, key.size() != 0)", json!({ "": "1" })));
        assert!(holds("self.size() == 0", json!("")));
        assert!(!holds("self.size() == 0", json!("ns")));
        assert!(holds(
            "self.startsWith(\"oci\") && self.endsWith(\"x\")",
            json!("oci://x")
        ));
        assert!(holds(
            "self.matches('^[a-f0-9]{64}$')",
            json!("a".repeat(64))
        ));
        assert!(!holds("self.matches('^[a-f0-9]{64}$')", json!("xyz")));
        assert!(holds("self.exists(x, x == 2) && 2 in self", json!([1, 2])));
        assert!(holds(
            "(has(self.valueFrom) ? self.valueFrom : \"\") != \"HOST\" || !has(self.value)",
            json!({ "valueFrom": "HOST" })
        ));
        assert!(!holds(
            "(has(self.valueFrom) ? self.valueFrom : \"\") != \"HOST\" || !has(self.value)",
            json!({ "valueFrom": "HOST", "value": "x" })
        ));
    }

    #[test]
    fn the_url_rule_of_istio() {
        let rule = "isURL(self) ? (url(self).getScheme() in [\"\", \"http\", \"https\", \"file\", \"oci\"]) : (isURL(\"http://\" + self) &&\nurl(\"http://\" + self).getScheme() in [\"\", \"http\", \"https\", \"file\", \"oci\"])";
        for ok in [
            "oci://localhost:5000/filterbench/add_header:latest",
            "OCI://r.io/x",
            "file:///var/local/x.wasm",
            "https://h/x.wasm",
            "ghcr.io/org/repo:tag",
        ] {
            assert!(holds(rule, json!(ok)), "{ok}");
        }
        for bad in ["ftp://h/x.wasm", "localhost:5000/repo:tag", "s3://b/k"] {
            assert!(!holds(rule, json!(bad)), "{bad}");
        }
    }

    #[test]
    fn unknown_functions_and_syntax_errors_fail_compilation() {
        let err = Rule::compile("self.foo()", None).unwrap_err().to_string();
        assert!(
            err.contains("foo") && err.contains("does not provide"),
            "{err}"
        );
        let err = Rule::compile("quantity(self) > 1", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("quantity"), "{err}");
        let err = Rule::compile("self ==", None).unwrap_err().to_string();
        assert!(err.contains("does not parse"), "{err}");
    }

    #[test]
    fn default_message_names_the_rule() {
        let r = Rule::compile("self.size() == 0", None).unwrap();
        assert_eq!(r.message, "failed rule: self.size() == 0");
    }
}
