//! A pair's corpus (`bench/corpus/<pair>.toml`, a workspace's `corpus/<pair>.toml`): parsed and
//! checked as `Corpus::load` does, then used as verify and record use it (each scenario's body,
//! call clusters, auth replies, the scenario as a request). Property: an error or a corpus.
#![no_main]

use std::path::Path;

use filterbench_model::corpus::Corpus;
use filterbench_model::record::request_of;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `Corpus::load` reads the file as UTF-8 text; other bytes are an I/O error there.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The pair the corpus must be for: the one it names, so that the checks after it run.
    let pair = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("pair")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "fuzz".to_string());
    let Ok(corpus) = Corpus::parse(Path::new("corpus.toml"), &pair, text) else {
        return;
    };
    let _ = corpus.call_clusters();
    let _ = corpus.auth_replies();
    for scenario in &corpus.scenarios {
        let _ = scenario.body_bytes();
        let _ = scenario.auth_token();
        let _ = request_of(scenario).problem();
    }
});
