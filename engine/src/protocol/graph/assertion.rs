//! A client assertion for Microsoft Entra's token endpoint: a JWT signed RS256 with the app's
//! certificate key, naming the certificate by its SHA-1 (`x5t`) and SHA-256 (`x5t#S256`)
//! thumbprints, for the token endpoint (`aud`), from and about the app (`iss`, `sub`), valid ten
//! minutes. The PEM holds the certificate and its private key (PKCS#8 or PKCS#1), as stored in
//! the keychain.

use super::code;
use crate::secrets::Secret;
use crate::{Error, ErrorKind, Result};
use aws_lc_rs::{digest, rand, signature};
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const VALIDITY_SECONDS: i64 = 600;

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unreadable(detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Server, code::CERTIFICATE).with_detail(detail)
}

/// The certificate of a PEM, DER-encoded.
pub fn certificate(pem: &Secret) -> Result<Vec<u8>> {
    let cert = CertificateDer::pem_slice_iter(pem.expose().as_bytes())
        .next()
        .ok_or_else(|| unreadable("no CERTIFICATE block"))?
        .map_err(unreadable)?;
    Ok(cert.as_ref().to_vec())
}

/// The SHA-1 thumbprint of a PEM's certificate, in upper-case hex as Microsoft Entra shows it.
pub fn thumbprint(pem: &Secret) -> Result<String> {
    let der = certificate(pem)?;
    Ok(hex::encode_upper(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der)))
}

/// The thumbprint of a PEM that holds a certificate and a usable RSA private key.
pub fn checked_thumbprint(pem: &Secret) -> Result<String> {
    key_pair(pem)?;
    thumbprint(pem)
}

fn key_pair(pem: &Secret) -> Result<signature::RsaKeyPair> {
    let key = PrivateKeyDer::from_pem_slice(pem.expose().as_bytes()).map_err(unreadable)?;
    match key {
        PrivateKeyDer::Pkcs8(k) => signature::RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => signature::RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err(unreadable("the private key is not an RSA key")),
    }
    .map_err(|e| unreadable(format!("the private key is not a usable RSA key: {e}")))
}

/// The signed assertion for `token_url`.
pub fn sign(pem: &Secret, client_id: &str, token_url: &str) -> Result<Secret> {
    sign_at(pem, client_id, token_url, chrono::Utc::now().timestamp())
}

fn sign_at(pem: &Secret, client_id: &str, token_url: &str, now: i64) -> Result<Secret> {
    let der = certificate(pem)?;
    let keys = key_pair(pem)?;
    let header = serde_json::json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t": b64url(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref()),
        "x5t#S256": b64url(digest::digest(&digest::SHA256, &der).as_ref()),
    });
    let claims = serde_json::json!({
        "aud": token_url,
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now,
        "iat": now,
        "exp": now + VALIDITY_SECONDS,
    });
    let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
    let mut sig = vec![0u8; keys.public_modulus_len()];
    keys.sign(&signature::RSA_PKCS1_SHA256, &rand::SystemRandom::new(), input.as_bytes(), &mut sig)
        .map_err(|e| unreadable(format!("signing failed: {e}")))?;
    Ok(Secret::new(format!("{input}.{}", b64url(&sig))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_without_a_key_or_certificate_is_refused_with_its_code() {
        for pem in ["", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not pem"] {
            let e = sign(&Secret::new(pem), "app", "https://login.test/t/oauth2/v2.0/token").err();
            assert_eq!(e.map(|e| e.code().to_owned()).as_deref(), Some(code::CERTIFICATE), "{pem:?}");
        }
    }
}
