//! `importPublicKey` / `verifySignature`: Envoy's crypto utility, which parses a DER
//! SubjectPublicKeyInfo with BoringSSL's `EVP_parse_public_key` and verifies with
//! `EVP_DigestVerify` (RSA keys: PKCS#1 v1.5; EC keys: ECDSA with a DER signature over the
//! digest). Here: RSA, ECDSA P-256 and P-384 verify for real; an Ed25519 key imports (as in
//! BoringSSL) and fails at "initialize digest verify" (Ed25519 takes no digest), as in Envoy.
//! Not modelled: P-224 and P-521 keys and DSA keys import as nothing (`get()` is nil), where
//! Envoy would import them.
//!
//! Messages, from Envoy's `UtilityImpl::verifySignature`: `"<hash> is not supported."`,
//! `"Failed to initialize digest verify."`, `"Failed to verify digest. Error code: 0"`.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs8::DecodePublicKey;
use rsa::Pkcs1v15Sign;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// A public key as BoringSSL would hold it.
enum Key {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    /// A key type that takes no digest (Ed25519): verifying with a hash fails at init.
    NoDigest,
}

const ED25519_OID: &str = "1.3.101.112";

fn import(der: &[u8]) -> Option<Key> {
    if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(der) {
        return Some(Key::Rsa(k));
    }
    if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
        return Some(Key::P256(k.into()));
    }
    if let Ok(k) = p384::PublicKey::from_public_key_der(der) {
        return Some(Key::P384(k.into()));
    }
    let spki = rsa::pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der).ok()?;
    (spki.algorithm.oid.to_string() == ED25519_OID).then_some(Key::NoDigest)
}

/// Whether Envoy would import this DER key (the key object's `get()` is then not nil).
pub(super) fn importable(der: &[u8]) -> bool {
    import(der).is_some()
}

/// The digest of `text` with the named hash (lower-cased first, as Envoy does) and the RSA
/// padding scheme for it.
fn digest(hash: &str, text: &[u8]) -> Option<(Vec<u8>, Pkcs1v15Sign)> {
    Some(match hash.to_ascii_lowercase().as_str() {
        "sha1" => (Sha1::digest(text).to_vec(), Pkcs1v15Sign::new::<Sha1>()),
        "sha224" => (Sha224::digest(text).to_vec(), Pkcs1v15Sign::new::<Sha224>()),
        "sha256" => (Sha256::digest(text).to_vec(), Pkcs1v15Sign::new::<Sha256>()),
        "sha384" => (Sha384::digest(text).to_vec(), Pkcs1v15Sign::new::<Sha384>()),
        "sha512" => (Sha512::digest(text).to_vec(), Pkcs1v15Sign::new::<Sha512>()),
        _ => return None,
    })
}

/// verifySignature's two results: `true, nil` or `false, message`.
pub(super) fn verify_signature(
    hash: &str,
    key_der: &[u8],
    signature: &[u8],
    text: &[u8],
) -> (bool, Option<String>) {
    let Some((digest, padding)) = digest(hash, text) else {
        return (false, Some(format!("{hash} is not supported.")));
    };
    let init_failed = || {
        (
            false,
            Some("Failed to initialize digest verify.".to_string()),
        )
    };
    let verified = match import(key_der) {
        None | Some(Key::NoDigest) => return init_failed(),
        Some(Key::Rsa(k)) => k.verify(padding, &digest, signature).is_ok(),
        Some(Key::P256(k)) => p256::ecdsa::Signature::from_der(signature)
            .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
        Some(Key::P384(k)) => p384::ecdsa::Signature::from_der(signature)
            .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok()),
    };
    if verified {
        (true, None)
    } else {
        (
            false,
            Some("Failed to verify digest. Error code: 0".to_string()),
        )
    }
}
