//! `--wasm-url`: where Istio fetches the Wasm module from (`oci://`, `file://`, `http(s)://`),
//! parsed once so that the manifests, the OCI layout's tag and the README agree.

/// Where Istio fetches the Wasm module from (`WasmPlugin.spec.url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WasmUrl {
    /// `oci://REGISTRY/REPO[:TAG|@sha256:DIGEST]`.
    Oci {
        url: String,
        /// The tag (`latest` when none is given); names the image in `oci/index.json`.
        tag: String,
        /// The digest when the URL pins one (`@sha256:...`).
        digest: Option<String>,
    },
    /// `file:///absolute/path.wasm`: a file inside the proxy container.
    File { url: String },
    /// `http://` or `https://`: Istio downloads the module and checks `sha256`.
    Http { url: String },
}

/// Why a `--wasm-url` was refused; each names the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("--wasm-url {0:?} must be a non-empty URL without spaces")]
    Blank(String),
    #[error("--wasm-url {0:?}: a digest must be @sha256:<64 hex digits>")]
    Digest(String),
    #[error("--wasm-url {0:?}: expected oci://REGISTRY/REPOSITORY[:TAG]")]
    OciShape(String),
    #[error("--wasm-url {url:?}: {tag:?} is not a valid image tag")]
    Tag { url: String, tag: String },
    #[error("--wasm-url {0:?}: a file URL needs an absolute path (file:///path/to/module.wasm)")]
    RelativeFile(String),
    #[error(
        "--wasm-url {0:?}: unsupported scheme (use oci://REGISTRY/REPO:TAG, file:///path or https://...)"
    )]
    Scheme(String),
}

impl WasmUrl {
    /// The default: the pair's image in a local registry (kind's usual `localhost:5000`).
    pub fn default_for(pair: &str) -> WasmUrl {
        WasmUrl::parse(&format!("oci://localhost:5000/filterbench/{pair}:latest"))
            .expect("the default URL is valid")
    }

    /// Parses a `--wasm-url` (`oci://`, `file://`, `http(s)://`).
    pub fn parse(url: &str) -> Result<WasmUrl, UrlError> {
        let owned = || url.to_string();
        if url.chars().any(char::is_whitespace) || url.is_empty() {
            return Err(UrlError::Blank(owned()));
        }
        if let Some(rest) = url.strip_prefix("oci://") {
            let (name, digest) = match rest.split_once('@') {
                Some((name, digest)) => {
                    let hex = digest.strip_prefix("sha256:").unwrap_or("");
                    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(UrlError::Digest(owned()));
                    }
                    (name, Some(hex.to_ascii_lowercase()))
                }
                None => (rest, None),
            };
            let Some((registry, repo_tag)) = name.split_once('/') else {
                return Err(UrlError::OciShape(owned()));
            };
            if registry.is_empty() || repo_tag.is_empty() {
                return Err(UrlError::OciShape(owned()));
            }
            let last = repo_tag.rsplit('/').next().unwrap_or(repo_tag);
            let tag = match last.split_once(':') {
                Some((_, tag)) if !valid_tag(tag) => {
                    return Err(UrlError::Tag {
                        url: owned(),
                        tag: tag.to_string(),
                    });
                }
                Some((_, tag)) => tag.to_string(),
                None => "latest".to_string(),
            };
            return Ok(WasmUrl::Oci {
                url: url.to_string(),
                tag,
                digest,
            });
        }
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(UrlError::RelativeFile(owned()));
            }
            return Ok(WasmUrl::File {
                url: url.to_string(),
            });
        }
        if url.starts_with("http://") || url.starts_with("https://") {
            return Ok(WasmUrl::Http {
                url: url.to_string(),
            });
        }
        Err(UrlError::Scheme(owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            WasmUrl::Oci { url, .. } | WasmUrl::File { url } | WasmUrl::Http { url } => url,
        }
    }
}

fn valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_urls_parse() {
        let u = WasmUrl::parse("oci://localhost:5000/filterbench/add_header:v1").unwrap();
        assert_eq!(
            u,
            WasmUrl::Oci {
                url: "oci://localhost:5000/filterbench/add_header:v1".into(),
                tag: "v1".into(),
                digest: None
            }
        );
        let u = WasmUrl::parse("oci://localhost:5000/filterbench/add_header").unwrap();
        assert!(matches!(u, WasmUrl::Oci { ref tag, .. } if tag == "latest"));
        let d = "ab".repeat(32);
        let u = WasmUrl::parse(&format!("oci://r.io/x/y@sha256:{d}")).unwrap();
        assert!(matches!(u, WasmUrl::Oci { digest: Some(ref x), .. } if *x == d));
        assert!(WasmUrl::parse("oci://r.io/x@sha256:zz").is_err());
        assert!(WasmUrl::parse("oci://noslash").is_err());
        assert!(WasmUrl::parse("oci://r.io/x:bad tag").is_err());
        assert!(WasmUrl::parse("ftp://x/y").is_err());
        assert!(WasmUrl::parse("file://relative.wasm").is_err());
        assert!(matches!(
            WasmUrl::parse("file:///var/lib/x.wasm"),
            Ok(WasmUrl::File { .. })
        ));
        assert!(matches!(
            WasmUrl::parse("https://h/x.wasm"),
            Ok(WasmUrl::Http { .. })
        ));
    }
}
