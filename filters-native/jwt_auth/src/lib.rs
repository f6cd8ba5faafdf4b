//! jwt_auth: validates an HS256 JWT bearer token and forwards its subject as `x-user-id`.
//! Missing or empty `authorization` -> 401 `Missing Authorization`. Otherwise it must be
//! `Bearer <jwt>` where the jwt has three base64url (no padding) parts, a JSON object header with
//! `alg` == `HS256`, a signature equal to HMAC-SHA256(secret, "<part1>.<part2>"), and a JSON object
//! payload with a string `sub` and, when present, a numeric `exp` greater than now (whole seconds).
//! Any failure -> 401 `Invalid Token`; valid -> `x-user-id: <sub>` (replacing a client's value).
//! Configuration: `{"secret": "<HMAC key>"}`.
//! Native twin (Envoy dynamic module) of `filters-lua/jwt_auth.lua`; behaviour contract in
//! `bench/catalogue.toml`.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use filterbench_native_common::{parse_config, since_epoch};
use filterbench_native_sdk::{ConfigSetup, Filter, FilterConfig, Headers, Http};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

#[derive(Deserialize)]
struct JwtAuthConfig {
    secret: String,
}

/// Why a token was refused (all of them are answered `Invalid Token`).
#[derive(Debug)]
enum Invalid {
    NotBearer,
    Shape,
    Base64,
    Header,
    Signature,
    Payload,
    Expired,
}

/// Decodes one base64url part: URL-safe alphabet, no padding, canonical trailing bits.
fn decode_part(part: &[u8]) -> Result<Vec<u8>, Invalid> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| Invalid::Base64)
}

/// Checks `authorization` and returns the token's `sub`.
fn validate(authorization: &[u8], secret: &[u8], now_secs: f64) -> Result<String, Invalid> {
    let token = authorization
        .strip_prefix(b"Bearer ")
        .ok_or(Invalid::NotBearer)?;
    let mut parts = token.split(|&b| b == b'.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Invalid::Shape);
    };
    let header = decode_part(header_b64)?;
    let payload = decode_part(payload_b64)?;
    let signature = decode_part(signature_b64)?;

    let header: Value = serde_json::from_slice(&header).map_err(|_| Invalid::Header)?;
    if header
        .as_object()
        .and_then(|h| h.get("alg"))
        .and_then(Value::as_str)
        != Some("HS256")
    {
        return Err(Invalid::Header);
    }

    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Invalid::Signature)?;
    // The signing input is "<part1>.<part2>": the token up to its second dot.
    mac.update(&token[..header_b64.len() + 1 + payload_b64.len()]);
    mac.verify_slice(&signature)
        .map_err(|_| Invalid::Signature)?;

    let payload: Value = serde_json::from_slice(&payload).map_err(|_| Invalid::Payload)?;
    let claims = payload.as_object().ok_or(Invalid::Payload)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(Invalid::Payload)?;
    if let Some(exp) = claims.get("exp") {
        let exp = exp.as_f64().ok_or(Invalid::Payload)?;
        if now_secs >= exp {
            return Err(Invalid::Expired);
        }
    }
    Ok(sub.to_string())
}

impl FilterConfig for JwtAuthConfig {
    type Filter = JwtAuth;

    fn new(config: &[u8], _setup: &mut ConfigSetup) -> Result<Self, String> {
        parse_config(config, r#"{"secret": <string>}"#)
    }

    fn new_filter(config: &Arc<Self>) -> JwtAuth {
        JwtAuth {
            config: Arc::clone(config),
        }
    }
}

struct JwtAuth {
    config: Arc<JwtAuthConfig>,
}

fn reply_401(http: &mut Http, body: &str) -> Headers {
    http.send_response(401, &[("content-type", b"text/plain")], body.as_bytes());
    Headers::StopIteration
}

impl Filter for JwtAuth {
    fn on_request_headers(&mut self, http: &mut Http, _end_of_stream: bool) -> Headers {
        let authorization = match http.request_header("authorization") {
            Some(value) if !value.is_empty() => value,
            _ => return reply_401(http, "Missing Authorization"),
        };
        // Whole seconds of the clock, compared as numbers with `exp` (like the Lua twin).
        let now = since_epoch().as_secs();
        match validate(&authorization, self.config.secret.as_bytes(), now as f64) {
            Ok(sub) => {
                http.set_request_header("x-user-id", sub.as_bytes());
                Headers::Continue
            }
            Err(_) => reply_401(http, "Invalid Token"),
        }
    }
}

filterbench_native_sdk::export_filter!("jwt_auth", JwtAuthConfig);
