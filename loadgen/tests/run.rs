//! `loadgen run --url`: drives an endpoint and reports; a dead port is a quick, clear error.

use std::process::Command;

use filterbench_load::services::Echo;

fn loadgen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .expect("run loadgen")
}

#[test]
fn run_against_an_endpoint_reports_json() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let echo = rt.block_on(Echo::start()).unwrap();
    let url = format!("http://{}/hello", echo.addr);
    let out = loadgen(&[
        "run", "--url", &url, "-n", "150", "-c", "3", "--output", "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["responses"], 150);
    assert_eq!(json["statuses"]["2xx"], 150);
    assert_eq!(json["errors"]["connect"], 0);
    assert_eq!(json["partial"], false);
    assert!(json["latency_us"]["p50"].as_u64().unwrap() > 0);
}

#[test]
fn run_against_a_dead_port_fails_clearly() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let out = loadgen(&["run", "--url", &format!("http://{addr}/"), "-d", "5"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot connect to {addr}")),
        "{stderr}"
    );
}
