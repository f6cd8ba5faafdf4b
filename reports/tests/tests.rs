//! filterbench-reports' integration tests: hand-made result sets written with the real result
//! types into a temp dir, rendered, and the pages checked through their DOM hooks.
//! Run with `cargo test -p filterbench-reports`.

mod fixtures;
mod site;
