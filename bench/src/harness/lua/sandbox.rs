//! The sandbox: what a filter can reach in the harness's Lua state (see `sandbox.lua`).
//!
//! Envoy opens every standard library (`luaL_openlibs`), so filters written for it may use any
//! of them; the harness keeps what filters compute with (base, string, table, math, bit,
//! coroutine, `os.time`/`os.clock`/`os.date`/`os.difftime`, `debug.traceback`/`getinfo`,
//! `load` of text) and takes away what reaches outside the Lua state or the harness's control:
//! `io`, `os.exit`/`execute`/`remove`/`rename`/`tmpname`/`getenv`/`setlocale`, `dofile`,
//! `loadfile`, binary chunks, `newproxy` with a metatable (a `__gc` finalizer runs with hooks
//! off), `require` of anything not already open, `package.loadlib`,
//! `ffi` (never opened), and the `debug` functions that reach the hook (the instruction budget),
//! the registry, locals and upvalues. Using one raises at the script's line and fails the run
//! with a [`FailureKind::Forbidden`](crate::harness::FailureKind) error naming the filter and the
//! phase; catching the raise with `pcall` does not help (the use is recorded in Rust). Envoy's
//! own behaviour for the same scripts is in `crate::harness::hostile` (the hostile-filter suite).

use std::rc::Rc;

use mlua::{Lua, Table};

use super::{set_fn, Shared};

pub(super) fn register(lua: &Lua, p: &Table, shared: &Rc<Shared>) -> mlua::Result<()> {
    let s = shared.clone();
    set_fn(lua, p, "forbid", move |_, what: String| {
        let message = message(&what);
        let phase = s
            .stream
            .try_borrow()
            .map(|st| st.phase)
            .unwrap_or(crate::harness::Phase::Start);
        let mut slot = s.forbidden.borrow_mut();
        if slot.is_none() {
            *slot = Some((phase, message.clone()));
        }
        Ok(message)
    })?;
    Ok(())
}

/// What the filter is told, and the run's error says.
fn message(what: &str) -> String {
    let what: String = what.chars().take(80).collect();
    let why = match what.as_str() {
        "os.exit" => "a filter cannot end the harness",
        "debug.sethook" | "debug.gethook" => "the instruction budget cannot be removed or replaced",
        w if w.starts_with("io.") || w == "dofile" || w == "loadfile" || w.starts_with("os.") => {
            "a filter cannot reach files, processes or the environment"
        }
        w if w.starts_with("require") || w.starts_with("package.") || w == "module" => {
            "a filter cannot load modules (Lua or native) from files"
        }
        "newproxy with a metatable" => {
            "LuaJIT runs a finalizer (__gc) with hooks off, out of the instruction budget's reach"
        }
        w if w.ends_with("binary chunk") => {
            "LuaJIT does not verify bytecode (a crafted chunk corrupts the harness's memory)"
        }
        _ => "it reaches outside the filter's Lua state",
    };
    format!("{what} is not available to filters in the filterbench harness: {why}")
}
