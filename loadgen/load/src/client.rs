//! One HTTP/1.1 request over a fresh loopback connection, with bounded connect and response
//! times, returning status, headers (in arrival order, values as bytes) and the body.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use filterbench_model::corpus::HeaderPair;
use filterbench_model::outcome::display_bytes;

use crate::services::MAX_BODY;
use crate::{Error, Result};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A request to send.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<HeaderPair>,
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Received {
    pub status: u16,
    pub headers: Vec<HeaderPair>,
    pub body: String,
}

/// Sends `req` to `addr` on a new connection. The `host` header defaults to `filterbench.test`
/// so every listener sees the same authority.
pub async fn send(addr: SocketAddr, req: &SendRequest) -> Result<Received> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| {
            Error::Http(format!(
                "connect to {addr}: timed out after {CONNECT_TIMEOUT:?}"
            ))
        })?
        .map_err(|e| Error::Http(format!("connect to {addr}: {e}")))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Error::Http(format!("{addr}: handshake: {e}")))?;
    let conn = tokio::spawn(conn);
    let mut builder = Request::builder()
        .method(req.method.as_str())
        .uri(req.path.as_str());
    // A method or path the request line cannot carry leaves the builder in error: said, with the
    // request (the callers check their inputs first; this is the last line of defence).
    let Some(headers) = builder.headers_mut() else {
        let e = builder
            .body(Full::new(Bytes::new()))
            .err()
            .map_or_else(String::new, |e| e.to_string());
        return Err(Error::Http(format!(
            "{} {:?}: not a valid request line: {e}",
            req.method, req.path
        )));
    };
    if !req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        headers.append("host", HeaderValue::from_static("filterbench.test"));
    }
    for (name, value) in &req.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| Error::Http(format!("header name {name:?}: {e}")))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|e| Error::Http(format!("header {name}: value {value:?}: {e}")))?;
        headers.append(name, value);
    }
    let request = builder
        .body(Full::new(Bytes::from(req.body.clone())))
        .map_err(|e| Error::Http(format!("{} {:?}: {e}", req.method, req.path)))?;
    let exchange = async {
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| Error::Http(format!("{addr}: {e}")))?;
        let (parts, body) = resp.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| Error::Http(format!("{addr}: reading the body: {e}")))?
            .to_bytes();
        Ok::<_, Error>(Received {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), display_bytes(v.as_bytes())))
                .collect(),
            body: display_bytes(&body),
        })
    };
    let result = tokio::time::timeout(RESPONSE_TIMEOUT, exchange)
        .await
        .map_err(|_| Error::Http(format!("{addr}: no response within {RESPONSE_TIMEOUT:?}")))?;
    conn.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request line hyper cannot build is an error naming the request, never a panic.
    #[test]
    fn a_path_with_a_space_is_an_error_not_a_panic() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let req = SendRequest {
            method: "GET".into(),
            path: "/search?q=a b".into(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let e = rt.block_on(send(addr, &req)).unwrap_err().to_string();
        assert!(e.contains("GET \"/search?q=a b\""), "{e}");
        drop(listener);
    }
}
