//! Validation of manifests against the `openAPIV3Schema` of CustomResourceDefinitions (Istio's
//! `EnvoyFilter`, `WasmPlugin` and `TrafficExtension` CRDs, carried in `loadgen/istio-crds/` with their source in
//! each file's first line), without a cluster.
//!
//! A CRD's schema is OpenAPI v3 with Kubernetes extensions, not JSON Schema; [`to_json_schema`]
//! translates it to JSON Schema draft 7 the way the API server reads it:
//!
//! - **unknown fields are errors**: every object with `properties` (or `type: object` and no
//!   `additionalProperties`) gets `additionalProperties: false`, unless it carries
//!   `x-kubernetes-preserve-unknown-fields: true` (as `pluginConfig` and `patch.value` do). The API
//!   server would prune such fields silently and `kubectl apply` (strict field validation) rejects
//!   them; either way a misspelt field is a bug in the generator;
//! - `nullable: true` adds `null` to the type; `x-kubernetes-int-or-string: true` is
//!   `anyOf: [integer, string]` when the schema does not already say so; `format: int32` becomes
//!   bounds; `x-kubernetes-list-type: set` becomes `uniqueItems`;
//! - `x-kubernetes-validations` (CEL rules) are not JSON Schema: they are compiled with a CEL
//!   evaluator ([`super::cel`], the `cel` crate plus Kubernetes' URL library) into a tree that
//!   mirrors the schema ([`super::cel::CelNode`]) and evaluated where the API server evaluates them. A rule
//!   that does not compile is an error when the CRD is loaded, so a new rule in a newer CRD cannot
//!   be skipped silently;
//! - the root gets the fields every object has: `apiVersion` and `kind` pinned to the CRD's group,
//!   version and kind, and `metadata` with Kubernetes' name, namespace and label syntax.
//!
//! Not checked: the uniqueness of `x-kubernetes-list-type: map` keys (no JSON Schema keyword says
//! it) and anything an admission webhook (istiod's validation) checks beyond the schema.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::cel::CelNode;
use super::{Error, Result};

/// The environment variable naming another directory of CRDs to validate against (for example
/// the CRDs of a newer Istio release).
pub const CRD_DIR_ENV: &str = "FILTERBENCH_ISTIO_CRDS";

/// Where the Istio CRDs are: `$FILTERBENCH_ISTIO_CRDS`, else the copies this project carries in
/// `loadgen/istio-crds/` (each names its upstream source and commit in its first line).
pub fn default_dir() -> PathBuf {
    match std::env::var_os(CRD_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        // This crate is `loadgen/k8s`; the copies are in `loadgen/istio-crds`.
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("loadgen/k8s has a parent")
            .join("istio-crds"),
    }
}

/// Schema violations of one manifest, one line each (`<instance path>: <what is wrong>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct Violations(pub Vec<String>);

/// One served version of one CRD, compiled.
pub struct CrdSchema {
    /// `<group>/<version>`.
    pub api_version: String,
    pub kind: String,
    /// The CRD file it came from.
    pub path: PathBuf,
    /// The translated JSON Schema.
    pub schema: Value,
    /// The CEL rules, where they apply.
    cel: CelNode,
    validator: jsonschema::Validator,
}

impl fmt::Debug for CrdSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrdSchema")
            .field("api_version", &self.api_version)
            .field("kind", &self.kind)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl CrdSchema {
    /// Compiles `openapi` (a CRD version's `schema.openAPIV3Schema`).
    pub fn compile(
        path: &Path,
        group: &str,
        version: &str,
        kind: &str,
        openapi: &Value,
    ) -> Result<Self> {
        let crd_error = |message: &dyn std::fmt::Display| Error::Crd {
            path: path.to_path_buf(),
            message: format!("{kind} {version}: {message}"),
        };
        let api_version = format!("{group}/{version}");
        let schema = to_json_schema(openapi, &api_version, kind).map_err(|e| crd_error(&e))?;
        let cel = CelNode::build(openapi, "").map_err(|e| crd_error(&e))?;
        let validator = jsonschema::draft7::options()
            .build(&schema)
            .map_err(|e| crd_error(&format!("translated schema does not compile: {e}")))?;
        Ok(CrdSchema {
            api_version,
            kind: kind.to_string(),
            path: path.to_path_buf(),
            schema,
            cel,
            validator,
        })
    }

    /// Every violation of `manifest`, or `Ok`.
    pub fn validate(&self, manifest: &Value) -> Result<(), Violations> {
        let mut lines: Vec<String> = self
            .validator
            .iter_errors(manifest)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "/".to_string() } else { at };
                format!("{at}: {}", filterbench_model::one_line(&e.to_string()))
            })
            .collect();
        self.cel.check(manifest, "", &mut lines);
        if lines.is_empty() {
            Ok(())
        } else {
            Err(Violations(lines))
        }
    }
}

/// The schemas of every CRD in a directory, by `apiVersion` and `kind`.
#[derive(Debug)]
pub struct CrdSchemas {
    pub dir: PathBuf,
    pub schemas: Vec<CrdSchema>,
}

#[derive(Deserialize)]
struct CrdFile {
    kind: String,
    #[serde(default)]
    spec: Option<CrdSpec>,
}

#[derive(Deserialize)]
struct CrdSpec {
    group: String,
    names: CrdNames,
    versions: Vec<CrdVersion>,
}

#[derive(Deserialize)]
struct CrdNames {
    kind: String,
}

#[derive(Deserialize)]
struct CrdVersion {
    name: String,
    #[serde(default)]
    schema: Option<CrdVersionSchema>,
}

#[derive(Deserialize)]
struct CrdVersionSchema {
    #[serde(rename = "openAPIV3Schema")]
    open_api_v3_schema: Value,
}

impl CrdSchemas {
    /// The CRDs of [`default_dir`].
    pub fn load_default() -> Result<Self> {
        Self::load_dir(&default_dir())
    }

    /// Every `*.yaml` CRD in `dir`; an error when the directory is missing or holds no CRD.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::Crd {
                path: dir.to_path_buf(),
                message: format!(
                    "Istio CRD directory not found: the project carries its CRDs in \
                     loadgen/istio-crds/ (envoyfilter.crd.yaml, wasmplugin.crd.yaml); \
                     {CRD_DIR_ENV} may name another directory of CRD YAML files"
                ),
            });
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml")
            })
            .collect();
        files.sort();
        let mut schemas = Vec::new();
        for file in &files {
            schemas.extend(Self::load_file(file)?);
        }
        if schemas.is_empty() {
            return Err(Error::Crd {
                path: dir.to_path_buf(),
                message: "no CustomResourceDefinition with an openAPIV3Schema in *.yaml here"
                    .to_string(),
            });
        }
        Ok(CrdSchemas {
            dir: dir.to_path_buf(),
            schemas,
        })
    }

    /// The schemas of every CRD version in one YAML file (which may hold several documents).
    pub fn load_file(path: &Path) -> Result<Vec<CrdSchema>> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut out = Vec::new();
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = Value::deserialize(document).map_err(|e| Error::Crd {
                path: path.to_path_buf(),
                message: format!("not YAML: {e}"),
            })?;
            if value.is_null() {
                continue;
            }
            let crd: CrdFile = serde_json::from_value(value).map_err(|e| Error::Crd {
                path: path.to_path_buf(),
                message: format!("not a CustomResourceDefinition: {e}"),
            })?;
            if crd.kind != "CustomResourceDefinition" {
                continue;
            }
            let Some(spec) = crd.spec else { continue };
            for version in &spec.versions {
                if let Some(schema) = &version.schema {
                    out.push(CrdSchema::compile(
                        path,
                        &spec.group,
                        &version.name,
                        &spec.names.kind,
                        &schema.open_api_v3_schema,
                    )?);
                }
            }
        }
        Ok(out)
    }

    /// The schema for an `apiVersion` and `kind`.
    pub fn get(&self, api_version: &str, kind: &str) -> Option<&CrdSchema> {
        self.schemas
            .iter()
            .find(|s| s.api_version == api_version && s.kind == kind)
    }

    /// Validates a manifest (as JSON) against the CRD of its `apiVersion` and `kind`.
    pub fn validate(&self, manifest: &Value) -> Result<(), Violations> {
        let api_version = manifest.get("apiVersion").and_then(Value::as_str);
        let kind = manifest.get("kind").and_then(Value::as_str);
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            return Err(Violations(vec![
                "/: a manifest needs string apiVersion and kind".to_string(),
            ]));
        };
        match self.get(api_version, kind) {
            Some(schema) => schema.validate(manifest),
            None => Err(Violations(vec![format!(
                "/: no CRD schema for apiVersion {api_version} kind {kind} in {} (known: {})",
                self.dir.display(),
                self.schemas
                    .iter()
                    .map(|s| format!("{} {}", s.api_version, s.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            )])),
        }
    }

    /// Parses YAML text (one document; `#` comments allowed) and validates it. `what` names it in
    /// errors.
    pub fn validate_yaml(&self, what: &str, text: &str) -> Result<Value> {
        let value = yaml_to_json(what, text)?;
        self.validate(&value).map_err(|violations| Error::Invalid {
            what: what.to_string(),
            violations,
        })?;
        Ok(value)
    }
}

/// One YAML document as JSON.
pub fn yaml_to_json(what: &str, text: &str) -> Result<Value> {
    serde_yaml_ng::from_str(text).map_err(|e| Error::Yaml {
        what: what.to_string(),
        message: e.to_string(),
    })
}

/// Kubernetes' DNS-1123 subdomain (object names).
const DNS_SUBDOMAIN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// Kubernetes' DNS-1123 label (namespaces).
const DNS_LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
const LABEL_KEY: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
/// A label value (empty allowed).
const LABEL_VALUE: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";

/// The `metadata` every object has (the ObjectMeta fields a manifest may set).
fn object_meta_schema() -> Value {
    json!({
        "type": "object",
        "required": ["name"],
        "additionalProperties": false,
        "properties": {
            "name": { "type": "string", "minLength": 1, "maxLength": 253, "pattern": DNS_SUBDOMAIN },
            "generateName": { "type": "string" },
            "namespace": { "type": "string", "maxLength": 63, "pattern": DNS_LABEL },
            "labels": {
                "type": "object",
                "propertyNames": { "maxLength": 317, "pattern": LABEL_KEY },
                "additionalProperties": { "type": "string", "maxLength": 63, "pattern": LABEL_VALUE },
            },
            "annotations": {
                "type": "object",
                "propertyNames": { "pattern": LABEL_KEY },
                "additionalProperties": { "type": "string" },
            },
            "uid": { "type": "string" },
            "resourceVersion": { "type": "string" },
            "generation": { "type": "integer" },
            "creationTimestamp": { "type": ["string", "null"] },
            "deletionTimestamp": { "type": ["string", "null"] },
            "deletionGracePeriodSeconds": { "type": "integer" },
            "finalizers": { "type": "array", "items": { "type": "string" } },
            "ownerReferences": { "type": "array", "items": { "type": "object" } },
            "managedFields": { "type": "array", "items": { "type": "object" } },
            "selfLink": { "type": "string" },
        },
    })
}

/// A CRD schema this translation cannot take: where in the schema, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct SchemaError {
    /// A JSON pointer into the schema (or the schema's name for its root).
    pub at: String,
    pub problem: String,
}

impl SchemaError {
    fn new(at: impl Into<String>, problem: impl Into<String>) -> SchemaError {
        SchemaError {
            at: at.into(),
            problem: problem.into(),
        }
    }
}

/// Translates a CRD version's `openAPIV3Schema` into a JSON Schema (draft 7) for whole objects of
/// `api_version`/`kind` (without the CEL rules: see [`super::cel::CelNode`]).
pub fn to_json_schema(
    openapi: &Value,
    api_version: &str,
    kind: &str,
) -> Result<Value, SchemaError> {
    let mut root = convert(openapi, "", true)?;
    let obj = root
        .as_object_mut()
        .ok_or_else(|| SchemaError::new("openAPIV3Schema", "not an object"))?;
    let props = obj
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| SchemaError::new("openAPIV3Schema.properties", "not an object"))?;
    props.insert(
        "apiVersion".into(),
        json!({ "type": "string", "enum": [api_version] }),
    );
    props.insert("kind".into(), json!({ "type": "string", "enum": [kind] }));
    props.insert("metadata".into(), object_meta_schema());
    let required = obj
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| SchemaError::new("openAPIV3Schema.required", "not an array"))?;
    for field in ["apiVersion", "kind", "metadata"] {
        if !required.iter().any(|r| r == field) {
            required.push(Value::String(field.to_string()));
        }
    }
    obj.insert("additionalProperties".into(), Value::Bool(false));
    obj.insert(
        "$schema".into(),
        Value::String("http://json-schema.org/draft-07/schema#".into()),
    );
    Ok(root)
}

pub(crate) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Converts one schema node. `ptr` is its location in the translated schema; `structural` is false
/// inside `allOf`/`anyOf`/`oneOf`/`not`, where Kubernetes only allows value validations (so no
/// unknown-field rule applies there).
fn convert(node: &Value, ptr: &str, structural: bool) -> Result<Value, SchemaError> {
    let Some(node) = node.as_object() else {
        return Err(SchemaError::new(ptr, "a schema must be an object"));
    };
    let flag = |key: &str| node.get(key) == Some(&Value::Bool(true));
    let preserve_unknown = flag("x-kubernetes-preserve-unknown-fields");
    let int_or_string = flag("x-kubernetes-int-or-string");
    let nullable = flag("nullable");
    let embedded = flag("x-kubernetes-embedded-resource");

    let mut out = Map::new();
    for (key, value) in node {
        convert_keyword(&mut out, node, key, value, ptr, structural)?;
    }
    // A bound that an exclusive bound replaced.
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if node.get(exclusive) == Some(&Value::Bool(true)) {
            out.remove(bound);
        }
    }

    kubernetes_extensions(&mut out, int_or_string, nullable, embedded);
    let is_object =
        out.get("type") == Some(&Value::String("object".into())) || out.contains_key("properties");
    if structural && is_object && !preserve_unknown && !out.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Ok(Value::Object(out))
}

/// One keyword of a schema node into `out`: subschemas converted, OpenAPI 3.0 forms turned
/// into draft 7's, documentation and Kubernetes extensions dropped.
fn convert_keyword(
    out: &mut Map<String, Value>,
    node: &Map<String, Value>,
    key: &String,
    value: &Value,
    ptr: &str,
    structural: bool,
) -> Result<(), SchemaError> {
    match key.as_str() {
        "properties" => {
            let props = value
                .as_object()
                .ok_or_else(|| SchemaError::new(format!("{ptr}/properties"), "not an object"))?;
            let mut converted = Map::new();
            for (name, schema) in props {
                let at = format!("{ptr}/properties/{}", escape_pointer(name));
                converted.insert(name.clone(), convert(schema, &at, structural)?);
            }
            out.insert(key.clone(), Value::Object(converted));
        }
        "additionalProperties" | "items" if value.is_object() => {
            let at = format!("{ptr}/{key}");
            out.insert(key.clone(), convert(value, &at, structural)?);
        }
        "allOf" | "anyOf" | "oneOf" => {
            let items = value
                .as_array()
                .ok_or_else(|| SchemaError::new(format!("{ptr}/{key}"), "not an array"))?;
            let converted = items
                .iter()
                .enumerate()
                .map(|(i, s)| convert(s, &format!("{ptr}/{key}/{i}"), false))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(key.clone(), Value::Array(converted));
        }
        "not" => {
            out.insert(key.clone(), convert(value, &format!("{ptr}/not"), false)?);
        }
        "x-kubernetes-list-type" => {
            if value == "set" {
                out.insert("uniqueItems".into(), Value::Bool(true));
            }
        }
        "format" => match value.as_str() {
            Some("int32") => {
                out.entry("minimum").or_insert(json!(i32::MIN));
                out.entry("maximum").or_insert(json!(i32::MAX));
            }
            Some("date-time") => {
                out.insert(key.clone(), value.clone());
            }
            // int64, byte, ...: no check beyond the type.
            _ => {}
        },
        "exclusiveMinimum" | "exclusiveMaximum" => {
            // OpenAPI 3.0 (draft 4 style) booleans become draft 7 numbers.
            if value == &Value::Bool(true) {
                let bound = if key == "exclusiveMinimum" {
                    "minimum"
                } else {
                    "maximum"
                };
                if let Some(limit) = node.get(bound) {
                    out.insert(key.clone(), limit.clone());
                }
            } else if value.is_number() {
                out.insert(key.clone(), value.clone());
            }
        }
        "nullable" | "description" | "example" | "externalDocs" => {}
        k if k.starts_with("x-kubernetes-") => {}
        _ => {
            out.insert(key.clone(), value.clone());
        }
    }
    Ok(())
}

/// What `x-kubernetes-int-or-string`, `nullable` and `x-kubernetes-embedded-resource` allow,
/// in draft 7's terms.
fn kubernetes_extensions(
    out: &mut Map<String, Value>,
    int_or_string: bool,
    nullable: bool,
    embedded: bool,
) {
    if int_or_string && !out.contains_key("anyOf") && !out.contains_key("oneOf") {
        out.remove("type");
        out.insert(
            "anyOf".into(),
            json!([{ "type": "integer" }, { "type": "string" }]),
        );
    }
    if nullable {
        if let Some(Value::String(t)) = out.get("type").cloned() {
            out.insert("type".into(), json!([t, "null"]));
        }
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            if !values.contains(&Value::Null) {
                values.push(Value::Null);
            }
        }
    }
    if embedded {
        let props = out
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(props) = props.as_object_mut() {
            props
                .entry("apiVersion")
                .or_insert(json!({ "type": "string" }));
            props.entry("kind").or_insert(json!({ "type": "string" }));
            props
                .entry("metadata")
                .or_insert(json!({ "type": "object" }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(openapi: Value) -> CrdSchema {
        CrdSchema::compile(Path::new("test.crd.yaml"), "g.io", "v1", "Thing", &openapi).unwrap()
    }

    fn object(spec: Value) -> Value {
        json!({ "apiVersion": "g.io/v1", "kind": "Thing", "metadata": { "name": "x" }, "spec": spec })
    }

    #[test]
    fn unknown_fields_are_rejected_unless_preserved() {
        let s = compile(json!({ "type": "object", "properties": { "spec": {
            "type": "object",
            "properties": {
                "a": { "type": "string" },
                "free": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
            },
        } } }));
        assert!(s
            .validate(&object(json!({ "a": "x", "free": { "any": [1] } })))
            .is_ok());
        let err = s.validate(&object(json!({ "b": "x" }))).unwrap_err();
        assert!(err.to_string().contains("/spec"), "{err}");
        assert!(s
            .validate(&json!({ "apiVersion": "g.io/v1", "kind": "Thing", "metadata": { "name": "x" }, "extra": 1 }))
            .is_err());
    }

    #[test]
    fn api_version_kind_and_metadata_are_checked() {
        let s = compile(json!({ "type": "object", "properties": {} }));
        assert!(s.validate(&json!({ "apiVersion": "g.io/v1", "kind": "Thing", "metadata": { "name": "ok-name" } })).is_ok());
        assert!(s
            .validate(
                &json!({ "apiVersion": "g.io/v2", "kind": "Thing", "metadata": { "name": "x" } })
            )
            .is_err());
        assert!(s
            .validate(
                &json!({ "apiVersion": "g.io/v1", "kind": "Other", "metadata": { "name": "x" } })
            )
            .is_err());
        assert!(s.validate(&json!({ "apiVersion": "g.io/v1", "kind": "Thing", "metadata": { "name": "Bad_Name" } })).is_err());
        assert!(s.validate(&json!({ "apiVersion": "g.io/v1", "kind": "Thing", "metadata": { "name": "x", "labels": { "a": "no spaces" } } })).is_err());
    }

    #[test]
    fn nullable_int_or_string_and_int32() {
        let s = compile(
            json!({ "type": "object", "properties": { "spec": { "type": "object", "properties": {
            "n": { "type": "integer", "nullable": true, "format": "int32" },
            "p": { "x-kubernetes-int-or-string": true },
        } } } }),
        );
        assert!(s.validate(&object(json!({ "n": null, "p": 8080 }))).is_ok());
        assert!(s.validate(&object(json!({ "n": 5, "p": "http" }))).is_ok());
        assert!(s
            .validate(&object(json!({ "n": 3_000_000_000u64 })))
            .is_err());
        assert!(s.validate(&object(json!({ "p": true }))).is_err());
        assert!(s.validate(&object(json!({ "n": "5" }))).is_err());
    }

    #[test]
    fn a_rule_the_evaluator_cannot_run_fails_loading() {
        let err = CrdSchema::compile(
            Path::new("x.yaml"),
            "g.io",
            "v1",
            "Thing",
            &json!({ "type": "object", "properties": { "spec": { "type": "object",
                "x-kubernetes-validations": [{ "rule": "self.foo()" }] } } }),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("x.yaml") && err.contains("/properties/spec"),
            "{err}"
        );
        assert!(err.contains("does not provide"), "{err}");
    }

    #[test]
    fn rules_apply_to_map_values_and_list_items() {
        let s = compile(json!({ "type": "object", "properties": { "spec": {
            "type": "object",
            "properties": {
                "labels": { "type": "object", "additionalProperties": { "type": "string",
                    "x-kubernetes-validations": [{ "rule": "!self.contains('*')", "message": "no star" }] } },
                "refs": { "type": "array", "items": { "type": "object",
                    "properties": { "namespace": { "type": "string" } },
                    "x-kubernetes-validations": [{ "rule": "!has(self.namespace)", "message": "no ns" }] } },
            },
        } } }));
        assert!(s
            .validate(&object(json!({ "labels": { "a": "b" }, "refs": [{}] })))
            .is_ok());
        let err = s
            .validate(&object(
                json!({ "labels": { "a": "b*" }, "refs": [{}, { "namespace": "x" }] }),
            ))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/spec/labels/a: no star"), "{err}");
        assert!(err.contains("/spec/refs/1: no ns"), "{err}");
    }

    #[test]
    fn cel_violations_carry_the_rule_message() {
        let s = compile(json!({ "type": "object", "properties": { "spec": {
            "type": "object",
            "properties": { "a": { "type": "string" }, "b": { "type": "string" } },
            "x-kubernetes-validations": [{
                "rule": "(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) <= 1",
                "message": "only one of a or b",
            }],
        } } }));
        let err = s
            .validate(&object(json!({ "a": "1", "b": "2" })))
            .unwrap_err();
        assert!(err.to_string().contains("only one of a or b"), "{err}");
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let err = CrdSchemas::load_dir(Path::new("/nonexistent/istio-crds"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Istio CRD directory not found"), "{err}");
        assert!(err.contains(CRD_DIR_ENV), "{err}");
    }
}
