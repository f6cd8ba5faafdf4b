//! filterbench-reports' integration tests: hand-made result sets written with the real result
//! types into a temp dir, rendered, and the pages checked through their DOM hooks; `browser`
//! loads every page in headless Chromium (installed on first use by `scripts/ensure-chromium.sh`).
//! Run with `cargo test -p filterbench-reports`.

mod browser;
mod configs;
mod fixtures;
mod lua_only;
mod mechanism;
mod site;
mod ways;
