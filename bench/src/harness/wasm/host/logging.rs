//! Logging, the log level, the clock and the tick period.

use wasmtime::Caller;

use super::super::abi::{self, Status};
use super::super::memory;
use super::{ok, Host, R};

pub(super) fn proxy_log(mut caller: Caller<'_, Host>, level: u32, ptr: u32, len: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    let Some(level) = abi::log_level_from_u32(level) else {
        return ok(Status::BadArgument);
    };
    let message = tri!(memory::read(data, ptr, len));
    host.charge(message.len(), "log messages")?;
    host.log(level, String::from_utf8_lossy(message));
    ok(Status::Ok)
}

pub(super) fn proxy_get_log_level(mut caller: Caller<'_, Host>, ret: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    tri!(memory::write_u32(
        data,
        ret,
        abi::log_level_to_u32(host.log_level)
    ));
    ok(Status::Ok)
}

pub(super) fn proxy_get_current_time_nanoseconds(mut caller: Caller<'_, Host>, ret: u32) -> R {
    let (data, host) = split_or_fault!(&mut caller);
    tri!(memory::write_u64(data, ret, host.env.clock.now_ns()));
    ok(Status::Ok)
}

pub(super) fn proxy_set_tick_period_milliseconds(mut caller: Caller<'_, Host>, period: u32) -> R {
    caller.data_mut().tick_period_ms = period;
    ok(Status::Ok)
}
