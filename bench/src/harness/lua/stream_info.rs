//! `streamInfo()` (protocol, addresses, server name, `dynamicMetadata()`) and `connection()`.
//! All of it is in `stream_info.lua`: the stream's dynamic metadata lives in Lua (shared by
//! `envoy_on_request` and `envoy_on_response` of one stream, merged like protobuf's `MergeFrom`),
//! the rest are the bench listener's constants given here.

use mlua::{Lua, Table};

/// The address the bench's listener serves on, as `downstreamLocalAddress()` reports it.
pub const LOCAL_ADDRESS: &str = "127.0.0.1:10000";
/// The test client's address, as `downstreamRemoteAddress()` reports it.
pub const REMOTE_ADDRESS: &str = "127.0.0.1:40000";

pub(super) fn register(_lua: &Lua, p: &Table) -> mlua::Result<()> {
    p.raw_set("local_address", LOCAL_ADDRESS)?;
    p.raw_set("remote_address", REMOTE_ADDRESS)?;
    Ok(())
}
