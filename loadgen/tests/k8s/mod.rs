//! `loadgen k8s`: manifests, schema validation, OCI layout, CLI.

mod cli;
mod kind_script;
mod manifests;
mod oci;
mod schema;
mod support;
mod trafficextension;
mod translate;
