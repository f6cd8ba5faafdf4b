//! What the native twins (`filters-native/<pair>/`) share that is not their filter: random ids,
//! the clock, and the parsing of the filter configuration (the pair's JSON configuration, as the
//! Wasm twins get it). The twins' own files are then about their filters, like the Wasm twins'
//! (`filters-wasm/common` is the same for them).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

/// 32 random lowercase hex characters (16 bytes from the operating system).
pub fn random_hex() -> String {
    use std::fmt::Write;

    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: the clock's nanoseconds and a per-thread counter, mixed (splitmix64).
        thread_local!(static COUNTER: std::cell::Cell<u64> = const { std::cell::Cell::new(0) });
        let mut state = since_epoch().as_nanos() as u64
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

/// The wall clock since the Unix epoch (Envoy's clock is the same system clock).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The filter configuration `raw` (JSON) as a `T`; the error says what was wanted.
pub fn parse_config<T: DeserializeOwned>(raw: &[u8], want: &str) -> Result<T, String> {
    serde_json::from_slice::<T>(raw).map_err(|e| format!("want {want}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_32_lowercase_hex_and_differ() {
        let (a, b) = (random_hex(), random_hex());
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(a, b);
    }
}
