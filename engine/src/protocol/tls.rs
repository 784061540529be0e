//! TLS for every mail connection: rustls with the aws-lc-rs provider, certificates verified
//! against the operating system's trust store plus, when the profile names one, a PEM file of the
//! organisation's own certificate authorities. There is no way to accept an untrusted
//! certificate.

use super::failure;
use crate::Result;
use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// The crypto provider every TLS connection of the engine uses.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let p = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            // Libraries that build their own configuration (lettre) look for the process default.
            let _ = CryptoProvider::install_default((*p).clone());
            p
        })
        .clone()
}

/// Reads the certificates of a PEM file named on a profile.
pub fn read_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |detail: String| failure::ca_file(path).with_detail(detail);
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("the file holds no PEM certificate".to_owned()));
    }
    Ok(certs)
}

/// Which version of a profile's CA file is on disk ("" = none): configurations built from it are
/// cached by (path, version), so an edited file is read again and an unchanged one is not.
pub(crate) type CaVersion = (String, Option<SystemTime>);

/// The version of a CA file as it is now.
pub(crate) fn ca_version(ca_file: &str) -> Result<CaVersion> {
    let modified = if ca_file.is_empty() {
        None
    } else {
        Some(
            std::fs::metadata(Path::new(ca_file))
                .and_then(|m| m.modified())
                .map_err(|e| failure::ca_file(ca_file).with_detail(e))?,
        )
    };
    Ok((ca_file.to_owned(), modified))
}

/// The client configuration for a profile's CA file ("" for the OS store alone). Built once per
/// file version: loading the OS store takes milliseconds, and Test & Enable opens many
/// connections.
pub fn client_config(ca_file: &str) -> Result<Arc<ClientConfig>> {
    static CACHE: OnceLock<Mutex<HashMap<CaVersion, Arc<ClientConfig>>>> = OnceLock::new();
    let key = ca_version(ca_file)?;
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().map_err(crate::Error::internal)?.get(&key) {
        return Ok(c.clone());
    }
    let extra = if ca_file.is_empty() { Vec::new() } else { read_ca_file(ca_file)? };
    let provider = provider();
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
        .map_err(|e| failure::ca_file(ca_file).with_detail(e))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(crate::Error::internal)?
        .dangerous() // a custom verifier: the platform's, which verifies fully
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let config = Arc::new(config);
    cache.lock().map_err(crate::Error::internal)?.insert(key, config.clone());
    Ok(config)
}

/// The name the server's certificate must carry.
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_owned()).map_err(|_| failure::host_not_found(host))
}
