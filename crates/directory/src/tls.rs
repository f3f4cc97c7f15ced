//! rustls for `ldaps://` and StartTLS, on ring.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use crate::ConfigError;

/// The certificates of a PEM `ca_file` (at least one, each one usable as a
/// trust anchor).
pub(crate) fn read_ca_file(path: &Path) -> Result<RootCertStore, ConfigError> {
    let pem = std::fs::read(path).map_err(|source| ConfigError::CaFileUnreadable {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |detail: Option<String>| ConfigError::CaFileInvalid {
        path: path.to_owned(),
        detail,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| invalid(Some(e.to_string())))?;
        roots.add(cert).map_err(|e| invalid(Some(e.to_string())))?;
    }
    if roots.is_empty() {
        return Err(invalid(None));
    }
    Ok(roots)
}

/// The client configuration: the CA file's roots, else the system's.
pub(crate) fn client_config(ca: Option<RootCertStore>) -> Result<Arc<ClientConfig>, ConfigError> {
    let roots = match ca {
        Some(roots) => roots,
        None => {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!(
                    errors = ?found.errors,
                    "no system CA certificates found; set directory.ca_file for ldaps:// or StartTLS"
                );
            }
            roots
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ConfigError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
