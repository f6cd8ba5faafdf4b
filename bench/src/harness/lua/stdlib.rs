//! The standard library's clock and randomness, redirected to [`crate::harness::Env`] so that
//! tests can pin them (see `stdlib.lua`): `os.time()`, `os.clock()`, `os.date()` read
//! `env.clock`; `math.random` draws from `env.random` (`math.randomseed` is ignored). The rest of
//! `stdlib.lua`: `pairs`/`ipairs` honouring `__pairs`/`__ipairs` as in Envoy's LuaJIT (built with
//! LUAJIT_ENABLE_LUA52COMPAT), `EnvoyTimestampResolution`, and the JIT switched off under an
//! instruction budget. `print` writes to stderr (stdout carries the run's results), each line
//! led by the filter's name, at most [`PRINT_LINES`] lines per Lua state.

use std::rc::Rc;

use mlua::{Lua, Table};

use super::{set_fn, Shared};

/// The lines of `print` output shown per Lua state; the rest is counted, not shown.
pub const PRINT_LINES: u32 = 20;

pub(super) fn register(lua: &Lua, p: &Table, shared: &Rc<Shared>) -> mlua::Result<()> {
    let s = shared.clone();
    set_fn(lua, p, "now_s", move |_, ()| {
        Ok((s.env.clock.now_ns() / 1_000_000_000) as f64)
    })?;
    let s = shared.clone();
    set_fn(lua, p, "clock_s", move |_, ()| {
        Ok(s.env.clock.now_ns().saturating_sub(s.started_ns) as f64 / 1e9)
    })?;
    let s = shared.clone();
    set_fn(lua, p, "random", move |_, ()| {
        // 53 random bits: a double in [0, 1), like LuaJIT's PRNG output.
        Ok((s.env.random.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64))
    })?;
    let s = shared.clone();
    set_fn(lua, p, "print", move |_, line: mlua::LuaString| {
        let n = s.prints.get().saturating_add(1);
        s.prints.set(n);
        if n <= PRINT_LINES {
            let line = line.to_string_lossy();
            let line: String = line.chars().take(2000).collect();
            eprintln!("{}: print: {}", s.filter, line.replace('\n', "\n    "));
        } else if n == PRINT_LINES + 1 {
            eprintln!(
                "{}: print: (more print output of this filter is not shown)",
                s.filter
            );
        }
        Ok(())
    })?;
    Ok(())
}
