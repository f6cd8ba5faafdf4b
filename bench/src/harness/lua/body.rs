//! `body()`, `bodyChunks()`, `trailers()` and Envoy's `BufferWrapper` (`length`, `getBytes`,
//! `setBytes`). The flow (waiting for the body, what may be called when) is in `body.lua`; these
//! primitives work on the bodies of [`super::Stream`]. `setBytes` also sets content-length on the
//! side's header map, as Envoy 1.40 does.

use std::os::raw::c_int;
use std::rc::Rc;

use mlua::{lua_State, Lua, Table};

use super::headers::set_content_length;
use super::{arg_bytes, arg_usize, push_bytes, raw, set_fn, set_raw, side, Shared};

pub(super) fn register(lua: &Lua, p: &Table, shared: &Rc<Shared>) -> mlua::Result<()> {
    set_raw(lua, p, "b_len", b_len)?;
    set_raw(lua, p, "b_get", b_get)?;
    set_raw(lua, p, "b_set", b_set)?;
    let s = shared.clone();
    set_fn(
        lua,
        p,
        "b_get_slow",
        move |lua, (side_ix, start, length): (usize, usize, usize)| {
            let st = s.stream.borrow();
            lua.create_string(slice(&st.bodies[side(side_ix)], start, length))
        },
    )
}

/// body[start .. start + length], clamped.
fn slice(body: &[u8], start: usize, length: usize) -> &[u8] {
    let end = start.saturating_add(length).min(body.len());
    &body[start.min(end)..end]
}

// The raw primitives (see `super::raw`). Arguments: side[, start, length | bytes].

unsafe extern "C-unwind" fn b_len(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(st) = s.stream.try_borrow() else {
                return 0;
            };
            mlua::ffi::lua_pushnumber(l, st.bodies[side(arg_usize(l, 1))].len() as f64);
            1
        })
    }
}

unsafe extern "C-unwind" fn b_get(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(st) = s.stream.try_borrow() else {
                return 0;
            };
            let body = &st.bodies[side(arg_usize(l, 1))];
            push_bytes(l, s, slice(body, arg_usize(l, 2), arg_usize(l, 3)))
        })
    }
}

unsafe extern "C-unwind" fn b_set(l: *mut lua_State) -> c_int {
    unsafe {
        raw(l, |l, s| {
            let Ok(mut st) = s.stream.try_borrow_mut() else {
                return 0;
            };
            let st = &mut *st;
            let side_ix = side(arg_usize(l, 1));
            let body = &mut st.bodies[side_ix];
            body.clear();
            body.extend_from_slice(arg_bytes(l, 2));
            let length = body.len();
            set_content_length(&mut st.headers[side_ix], length);
            mlua::ffi::lua_pushnumber(l, length as f64);
            1
        })
    }
}
