//! Request files: `filterbench run --request FILE` (one JSON request, an array, JSON lines),
//! `filterbench record --requests FILE` (those, or a HAR export, by content or by a `.har`
//! name) and `filterbench run --calls FILE` (call scripts). The same text goes through each
//! reader; recorded requests are then named and turned into corpus scenarios as `record` does.
//! Property: an error or requests.
#![no_main]

use std::path::Path;

use filterbench_model::calls::parse_scripts;
use filterbench_model::corpus::{Corpus, Expect};
use filterbench_model::record::{corpus_with, parse_inputs, scenario, scenario_name};
use filterbench_model::request::parse_requests;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_requests(Path::new("requests.jsonl"), text);
    let _ = parse_scripts(Path::new("calls.json"), text);
    for name in ["requests.json", "requests.har"] {
        let Ok(inputs) = parse_inputs(Path::new(name), text) else {
            continue;
        };
        let mut taken = Vec::new();
        let mut scenarios = Vec::new();
        for input in &inputs {
            let name = scenario_name(&input.request, &taken);
            taken.push(name.clone());
            scenarios.push(scenario(
                name,
                input.origin.clone(),
                &input.request,
                Expect::default(),
            ));
        }
        let path = Path::new("corpus.toml");
        if let Ok(corpus) =
            corpus_with(path, "fuzz", "pair = \"fuzz\"\n", &scenarios, "fuzz", false)
        {
            let _ = Corpus::parse(path, "fuzz", &corpus);
        }
    }
});
