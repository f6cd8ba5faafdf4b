//! What the Wasm twins (`filters-wasm/<pair>/`) share that is not their filter: the root context
//! of a twin without configuration, the Lua-style header lookup, random ids, and the parsing of
//! the plugin configuration. Each twin's own file is then about its filter. (The Lua twins cannot
//! share code: Envoy's inline scripts cannot `require`; a test in
//! `bench/src/harness/lua/tests.rs` keeps their copied JSON decoder identical.)

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};
use serde::de::DeserializeOwned;

/// The root context of a twin with neither configuration nor state of its own: every HTTP stream
/// gets a new context from the function.
pub struct StatelessRoot(pub fn() -> Box<dyn HttpContext>);

impl Context for StatelessRoot {}

impl RootContext for StatelessRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some((self.0)())
    }
}

/// The value of header `name` as Envoy's Lua `headers():get()` returns it: `None` when absent,
/// otherwise every value joined with "," in arrival order. (Envoy's proxy-wasm single-header
/// getter returns only the first value, and the String variants panic on non-UTF-8 bytes.)
pub fn joined_header(headers: &[(String, Vec<u8>)], name: &str) -> Option<Vec<u8>> {
    let mut values = headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value);
    let mut joined = values.next()?.clone();
    for value in values {
        joined.push(b',');
        joined.extend_from_slice(value);
    }
    Some(joined)
}

/// 32 random lowercase hex characters (16 bytes from WASI `random_get`). Should the host refuse
/// randomness, a splitmix64 stream seeded from `seed` (the clock) and a per-VM counter is used.
pub fn random_hex(seed: u64) -> String {
    use std::cell::Cell;
    use std::fmt::Write;

    thread_local!(static COUNTER: Cell<u64> = const { Cell::new(0) });
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        let mut state = seed
            ^ COUNTER.with(|c| {
                c.set(c.get().wrapping_add(1));
                c.get().wrapping_mul(0xD1B5_4A32_D192_ED03)
            });
        for chunk in bytes.chunks_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
    let mut hex = String::with_capacity(32);
    for byte in bytes {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The plugin configuration `raw` (JSON) as a `T`. When it does not parse, logs
/// `<filter>: bad configuration (want <want>): <serde error>` at error level and returns `None`
/// (the twin's `on_configure` then returns false and Envoy refuses the plugin).
pub fn parse_config<T: DeserializeOwned>(raw: &[u8], filter: &str, want: &str) -> Option<T> {
    match serde_json::from_slice::<T>(raw) {
        Ok(config) => Some(config),
        Err(err) => {
            let _ = hostcalls::log(
                LogLevel::Error,
                &format!("{filter}: bad configuration (want {want}): {err}"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn joined_header_joins_every_value_in_order() {
        let h = headers(&[("a", "1"), ("B", "2"), ("b", ""), ("c", "3")]);
        assert_eq!(joined_header(&h, "x"), None);
        assert_eq!(joined_header(&h, "a").as_deref(), Some(&b"1"[..]));
        assert_eq!(joined_header(&h, "b").as_deref(), Some(&b"2,"[..]));
    }
}
