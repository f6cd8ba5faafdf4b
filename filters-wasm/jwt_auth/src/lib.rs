//! jwt_auth: validates an HS256 JWT bearer token and forwards its subject as `x-user-id`.
//! Missing or empty `authorization` -> 401 `Missing Authorization`. Otherwise it must be
//! `Bearer <jwt>` where the jwt has three base64url (no padding) parts, a JSON object header with
//! `alg` == `HS256`, a signature equal to HMAC-SHA256(secret, "<part1>.<part2>"), and a JSON object
//! payload with a string `sub` and, when present, a numeric `exp` greater than now (whole seconds).
//! Any failure -> 401 `Invalid Token`; valid -> `x-user-id: <sub>` (replacing a client's value).
//! Configuration: `{"secret": "<HMAC key>"}`.
//! Wasm twin of `filters-lua/jwt_auth.lua`; behaviour contract in `bench/catalogue.toml`.

use std::rc::Rc;
use std::time::UNIX_EPOCH;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use filterbench_twin_common::{joined_header, parse_config};
use hmac::{Hmac, Mac};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(JwtAuthRoot { secret: Rc::from(Vec::new()) })
    });
}}

#[derive(Deserialize)]
struct Config {
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

struct JwtAuthRoot {
    secret: Rc<[u8]>,
}

impl Context for JwtAuthRoot {}

impl RootContext for JwtAuthRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let raw = self.get_plugin_configuration().unwrap_or_default();
        let want = r#"{"secret": <string>}"#;
        let Some(config) = parse_config::<Config>(&raw, "jwt_auth", want) else {
            return false;
        };
        self.secret = Rc::from(config.secret.into_bytes());
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(JwtAuth {
            secret: Rc::clone(&self.secret),
        }))
    }
}

struct JwtAuth {
    secret: Rc<[u8]>,
}

impl JwtAuth {
    fn reply_401(&self, body: &str) -> Action {
        self.send_http_response(
            401,
            vec![("content-type", "text/plain")],
            Some(body.as_bytes()),
        );
        Action::Pause
    }
}

impl Context for JwtAuth {}

impl HttpContext for JwtAuth {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_request_headers_bytes();
        let authorization = match joined_header(&headers, "authorization") {
            Some(value) if !value.is_empty() => value,
            _ => return self.reply_401("Missing Authorization"),
        };
        // Whole seconds of Envoy's clock, compared as numbers with `exp` (like the Lua twin).
        let now = self
            .get_current_time()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match validate(&authorization, &self.secret, now as f64) {
            Ok(sub) => {
                self.set_http_request_header("x-user-id", Some(&sub));
                Action::Continue
            }
            Err(_) => self.reply_401("Invalid Token"),
        }
    }
}
