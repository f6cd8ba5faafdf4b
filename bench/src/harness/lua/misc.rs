//! Logging (`logTrace` .. `logCritical` to `env.logs`), time (`timestamp`, `timestampString`
//! from `env.clock`), `base64Escape`, and `importPublicKey` / `verifySignature`.
//!
//! Public keys: see [`super::crypto`].

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
    set_fn(lua, p, "import_public_key", |lua, der: mlua::LuaString| {
        // The handle `get()` gives is the DER itself, as in Envoy.
        let der = der.as_bytes();
        if super::crypto::importable(&der) {
            Ok(Some(lua.create_string(&*der)?))
        } else {
            Ok(None)
        }
    })?;
    set_fn(
        lua,
        p,
        "verify_signature",
        |_,
         (hash, key, signature, text): (
            mlua::LuaString,
            mlua::LuaString,
            mlua::LuaString,
            mlua::LuaString,
        )| {
            Ok(super::crypto::verify_signature(
                &hash.to_string_lossy(),
                &key.as_bytes(),
                &signature.as_bytes(),
                &text.as_bytes(),
            ))
        },
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
