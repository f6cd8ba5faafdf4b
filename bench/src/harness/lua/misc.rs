//! Logging (`logTrace` .. `logCritical` to `env.logs`), time (`timestamp`, `timestampString`
//! from `env.clock`), `base64Escape`, and `importPublicKey` / `verifySignature`.
//!
//! Public keys: Envoy imports a DER SubjectPublicKeyInfo with BoringSSL and verifies with
//! `EVP_DigestVerify`. No RSA/ECDSA implementation is available to this crate, so every import
//! fails the way Envoy reports a failed import: the key object's `get()` returns nil, and
//! `verifySignature` with a key that was not imported raises "invalid public key" (Envoy's
//! behaviour for an unknown key). `verify_signature` below is therefore unreachable from scripts
//! today; it answers like Envoy does for an unsupported hash.

use std::rc::Rc;

use std::os::raw::c_int;

use mlua::{lua_State, Lua, Table};

use crate::harness::LogLevel;

use super::{arg_bytes, arg_usize, raw, set_fn, set_raw, Shared};

const LEVELS: [LogLevel; 6] = [
    LogLevel::Trace,
    LogLevel::Debug,
    LogLevel::Info,
    LogLevel::Warn,
    LogLevel::Error,
    LogLevel::Critical,
];

pub(super) fn register(lua: &Lua, p: &Table, shared: &Rc<Shared>) -> mlua::Result<()> {
    set_raw(lua, p, "log", log)?;
    set_raw(lua, p, "now_ms", now_ms)?;
    let s = shared.clone();
    set_fn(lua, p, "timestamp_string", move |_, resolution: u8| {
        let ns = s.env.clock.now_ns();
        Ok(match resolution {
            1 => (ns / 1_000).to_string(),
            _ => (ns / 1_000_000).to_string(),
        })
    })?;
    set_fn(lua, p, "base64_escape", |lua, input: mlua::LuaString| {
        lua.create_string(base64(&input.as_bytes()))
    })?;
    set_fn(lua, p, "import_public_key", |_, der: mlua::LuaString| {
        Ok(import_public_key(&der.as_bytes()))
    })?;
    set_fn(
        lua,
        p,
        "verify_signature",
        |_,
         (hash, _key, _signature, _text): (
            String,
            mlua::LuaString,
            mlua::LuaString,
            mlua::LuaString,
        )| { Ok(verify_signature(&hash)) },
    )?;
    Ok(())
}

// The raw primitives (see `super::raw`).

/// log(level, message).
unsafe extern "C-unwind" fn log(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let level = LEVELS[arg_usize(l, 1).min(LEVELS.len() - 1)];
            s.env
                .log(level, String::from_utf8_lossy(arg_bytes(l, 2)).into_owned());
            0
        })
    }
}

/// now_ms(): env.clock in milliseconds.
unsafe extern "C-unwind" fn now_ms(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            mlua::ffi::lua_pushnumber(l, s.env.clock.now_ms() as f64);
            1
        })
    }
}

/// Standard base64 with padding (`absl::Base64Escape`).
pub(super) fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The key's handle when it can be imported: never, here (see the module docs).
fn import_public_key(_der: &[u8]) -> Option<String> {
    None
}

/// Envoy's answer for a hash it does not support (and for any verification that fails).
fn verify_signature(hash: &str) -> (bool, Option<String>) {
    match hash {
        "sha1" | "sha224" | "sha256" | "sha384" | "sha512" => (
            false,
            Some("Failed to verify digital signature.".to_string()),
        ),
        other => (false, Some(format!("{other} is not supported."))),
    }
}
