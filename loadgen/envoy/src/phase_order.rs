//! Phase and priority, as istiod orders them: several `TrafficExtension`s on one workload run in
//! the order their manifests say. Istio's rule (the `phase` and `priority` fields of the CRD):
//! `AUTHN`, then `AUTHZ`, then `STATS`; within a phase, the higher `priority` first. Four Lua
//! extensions whose names sort the other way round are served by istiod to one sidecar; each
//! appends its name to a request header, so the order they ran in reaches the echo upstream.
//! The check holds when the order the manifests say, the order of Envoy's HTTP filter chain
//! (its `/config_dump`) and the order the filters ran in are the same.

use std::collections::BTreeMap;

use filterbench_load::client::SendRequest;
use filterbench_model::corpus::UpstreamReply;

use crate::istiod::{free_port, write_workload, Istiod, Workload};
use crate::k8s::crd::CrdSchemas;
use crate::verify::{replay_request, Rig};
use crate::verify_istiod::{istiod_filter, start_sidecar, ControlPlane, Served};
use crate::{Error, Result};

/// The header each extension appends its name to.
pub const ORDER_HEADER: &str = "x-filterbench-order";
const NAMESPACE: &str = "filterbench-order";

/// One extension of the check: its name, phase and priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub name: &'static str,
    pub phase: &'static str,
    pub priority: i32,
}

/// The four extensions, listed in name order (the reverse of the order Istio's rule gives).
pub const EXTENSIONS: [Extension; 4] = [
    Extension {
        name: "a-stats-low",
        phase: "STATS",
        priority: 1,
    },
    Extension {
        name: "b-stats-high",
        phase: "STATS",
        priority: 10,
    },
    Extension {
        name: "c-authz",
        phase: "AUTHZ",
        priority: 0,
    },
    Extension {
        name: "d-authn",
        phase: "AUTHN",
        priority: 0,
    },
];

/// The order Istio's rule gives `extensions`: by phase (`AUTHN`, `AUTHZ`, `STATS`), then the
/// higher priority first, then by name.
pub fn expected_order(extensions: &[Extension]) -> Vec<&'static str> {
    let rank = |phase: &str| match phase {
        "AUTHN" => 0,
        "AUTHZ" => 1,
        "STATS" => 2,
        _ => 3,
    };
    let mut sorted = extensions.to_vec();
    sorted.sort_by_key(|e| (rank(e.phase), std::cmp::Reverse(e.priority), e.name));
    sorted.into_iter().map(|e| e.name).collect()
}

/// The `TrafficExtension` of one extension: Lua that appends its name to [`ORDER_HEADER`].
pub fn manifest(extension: &Extension, labels: &[(String, String)]) -> String {
    let labels: String = labels
        .iter()
        .map(|(k, v)| format!("      {k}: {v}\n"))
        .collect();
    format!(
        "\
apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata:
  name: {name}
  namespace: {NAMESPACE}
spec:
  selector:
    matchLabels:
{labels}  phase: {phase}
  priority: {priority}
  lua:
    inlineCode: |
      function envoy_on_request(request_handle)
        request_handle:headers():add(\"{ORDER_HEADER}\", \"{name}\")
      end
",
        name = extension.name,
        phase = extension.phase,
        priority = extension.priority,
    )
}

/// What the check saw.
#[derive(Debug, Clone)]
pub struct PhaseOrder {
    /// The order the manifests say ([`expected_order`]).
    pub expected: Vec<String>,
    /// The extensions in the order of the sidecar's HTTP filter chain.
    pub chain: Vec<String>,
    /// The order they ran in: the values of [`ORDER_HEADER`] the upstream received.
    pub ran: Vec<String>,
}

impl PhaseOrder {
    pub fn holds(&self) -> bool {
        self.chain == self.expected && self.ran == self.expected
    }

    /// One line for the terminal.
    pub fn line(&self) -> String {
        let said: Vec<String> = self
            .expected
            .iter()
            .map(|name| {
                let e = EXTENSIONS.iter().find(|e| e.name == name);
                e.map_or(name.clone(), |e| {
                    format!("{} ({} {})", e.name, e.phase, e.priority)
                })
            })
            .collect();
        if self.holds() {
            format!(
                "phase and priority: {} TrafficExtensions on one sidecar ran in the order their \
                 manifests say: {}",
                self.expected.len(),
                said.join(", ")
            )
        } else {
            format!(
                "phase and priority: DIFFER: the manifests say {}; Envoy's chain [{}]; they ran \
                 [{}]",
                said.join(", "),
                self.chain.join(", "),
                self.ran.join(", ")
            )
        }
    }
}

/// Serves [`EXTENSIONS`] to one sidecar from `control_plane` and reads the order back.
pub fn check(rig: &Rig, control_plane: &ControlPlane, crds: &CrdSchemas) -> Result<PhaseOrder> {
    let scratch = crate::scratch::Scratch::new("istiod")?;
    let config_dir = scratch.path().join("config");
    std::fs::create_dir_all(&config_dir)?;
    let workload = Workload {
        name: "filterbench-order".into(),
        namespace: NAMESPACE.into(),
        labels: vec![("app".into(), "filterbench-order".into())],
        port: free_port()?,
    };
    let mut first = None;
    for extension in &EXTENSIONS {
        let yaml = manifest(extension, &workload.labels);
        let path = config_dir.join(format!("{}.yaml", extension.name));
        crds.validate_yaml(&path.display().to_string(), &yaml)
            .map_err(|e| Error::Envoy(format!("phase and priority: {e}")))?;
        std::fs::write(&path, yaml)?;
        first.get_or_insert(path);
    }
    write_workload(&config_dir, &workload, rig.services().echo_port)?;
    let served = Served {
        workload,
        manifest: first.expect("four manifests"),
    };
    let mut istiod = Istiod::start(&control_plane.bin, &config_dir)
        .map_err(|e| Error::Envoy(format!("phase and priority: {e}")))?;
    let (mut envoy, addr) = start_sidecar(
        rig,
        &mut istiod,
        control_plane,
        &served,
        &BTreeMap::new(),
        &crate::envoy::EnvoyOptions::default(),
    )?;
    let chain: Vec<String> = istiod_filter(&envoy, served.workload.port, "lua")?
        .chain
        .iter()
        .filter_map(|filter| {
            EXTENSIONS
                .iter()
                .find(|e| filter.ends_with(&format!("{NAMESPACE}.{}", e.name)))
                .map(|e| e.name.to_string())
        })
        .collect();
    let request = SendRequest {
        method: "GET".into(),
        path: "/order".into(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let outcome = replay_request(rig, addr, "phase-order", request, UpstreamReply::default());
    envoy.check_alive()?;
    envoy.stop();
    istiod.stop();
    let upstream = outcome.upstream.ok_or_else(|| {
        Error::Envoy(format!(
            "phase and priority: the request did not reach the upstream (status {}: {})",
            outcome.status, outcome.body
        ))
    })?;
    let ran = upstream
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(ORDER_HEADER))
        .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
        .collect();
    Ok(PhaseOrder {
        expected: expected_order(&EXTENSIONS)
            .into_iter()
            .map(str::to_string)
            .collect(),
        chain,
        ran,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istios_rule_orders_by_phase_then_higher_priority_first() {
        assert_eq!(
            expected_order(&EXTENSIONS),
            ["d-authn", "c-authz", "b-stats-high", "a-stats-low"]
        );
        let names: Vec<&str> = EXTENSIONS.iter().map(|e| e.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(
            names, sorted,
            "listed in name order, the reverse of the rule's"
        );
    }

    #[test]
    fn every_manifest_is_valid_against_istios_crd() {
        let crds = CrdSchemas::load_default().unwrap();
        let labels = [("app".to_string(), "x".to_string())];
        for e in &EXTENSIONS {
            let yaml = manifest(e, &labels);
            let json = crds.validate_yaml(e.name, &yaml).unwrap();
            assert_eq!(json["spec"]["phase"], e.phase);
            assert_eq!(json["spec"]["priority"], e.priority);
        }
    }

    #[test]
    fn the_check_holds_only_when_chain_and_run_follow_the_manifests() {
        let expected: Vec<String> = expected_order(&EXTENSIONS)
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut order = PhaseOrder {
            expected: expected.clone(),
            chain: expected.clone(),
            ran: expected.clone(),
        };
        assert!(order.holds());
        assert!(order
            .line()
            .contains("d-authn (AUTHN 0), c-authz (AUTHZ 0)"));
        order.ran.reverse();
        assert!(!order.holds());
        assert!(order.line().contains("DIFFER"), "{}", order.line());
    }
}
