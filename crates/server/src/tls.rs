//! HTTPS served by the server itself (`tls_cert` and `tls_key`): rustls on
//! the ring provider, with the certificate read again on SIGHUP so a renewed
//! one is served without a restart. A new pair that does not load (missing,
//! not PEM, a key of another certificate) leaves the old pair in place and
//! says why in the log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate and key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file could not be read.
    #[error("cannot read the TLS certificate {0}: {1}")]
    ReadCertificate(PathBuf, std::io::Error),
    /// The key file could not be read.
    #[error("cannot read the TLS key {0}: {1}")]
    ReadKey(PathBuf, std::io::Error),
    /// The certificate file holds no PEM certificate.
    #[error("the TLS certificate {0} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate(PathBuf),
    /// The key file holds no PEM private key.
    #[error("the TLS key {0} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {1}")]
    NoKey(PathBuf, String),
    /// The key is not one rustls can sign with, or not the certificate's.
    #[error("the TLS key {key} does not go with the certificate {certificate}: {reason}")]
    Mismatch {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// Only one of `tls_cert` and `tls_key` is set.
    #[error("TLS needs both tls_cert and tls_key; only {0} is set")]
    HalfConfigured(&'static str),
}

/// The certificate and key being served, and the files they came from.
#[derive(Debug)]
pub struct ReloadableCertificate {
    certificate_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadableCertificate {
    /// Loads the pair, refusing a file that cannot be read or a key that is
    /// not the certificate's.
    pub fn load(certificate_file: &Path, key_file: &Path) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = load_pair(certificate_file, key_file, &provider)?;
        Ok(Arc::new(ReloadableCertificate {
            certificate_file: certificate_file.to_owned(),
            key_file: key_file.to_owned(),
            provider,
            current: RwLock::new(current),
        }))
    }

    /// Reads the files again; on failure the pair served so far stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = load_pair(&self.certificate_file, &self.key_file, &self.provider)?;
        match self.current.write() {
            Ok(mut current) => *current = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    /// The acceptor for the listener: TLS 1.2 and 1.3, HTTP/1.1.
    pub fn acceptor(self: &Arc<Self>) -> tokio_rustls::TlsAcceptor {
        #[allow(
            clippy::expect_used,
            reason = "the ring provider's defaults always include a protocol version"
        )]
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }

    /// Reloads the pair at every SIGHUP, for as long as the runtime runs.
    pub fn reload_on_sighup(self: &Arc<Self>) -> std::io::Result<()> {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let certificate = Arc::clone(self);
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match certificate.reload() {
                    Ok(()) => tracing::info!(
                        certificate = %certificate.certificate_file.display(),
                        "reloaded the TLS certificate"
                    ),
                    Err(error) => tracing::error!(
                        %error,
                        "kept the TLS certificate served so far"
                    ),
                }
            }
        });
        Ok(())
    }
}

impl ResolvesServerCert for ReloadableCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = match self.current.read() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        Some(Arc::clone(&current))
    }
}

fn load_pair(
    certificate_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let certificate_pem = std::fs::read(certificate_file)
        .map_err(|e| TlsError::ReadCertificate(certificate_file.to_owned(), e))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&certificate_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(certificate_file.to_owned()));
    }
    let key_pem = zeroize::Zeroizing::new(
        std::fs::read(key_file).map_err(|e| TlsError::ReadKey(key_file.to_owned(), e))?,
    );
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| TlsError::NoKey(key_file.to_owned(), e.to_string()))?;
    let pair = CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::Mismatch {
        certificate: certificate_file.to_owned(),
        key: key_file.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(pair))
}

/// The pair the configuration names, if any: both keys or neither.
pub fn from_config(config: &crate::Config) -> Result<Option<Arc<ReloadableCertificate>>, TlsError> {
    match (&config.tls_cert, &config.tls_key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(TlsError::HalfConfigured("tls_cert")),
        (None, Some(_)) => Err(TlsError::HalfConfigured("tls_key")),
        (Some(certificate), Some(key)) => ReloadableCertificate::load(certificate, key).map(Some),
    }
}

/// Without TLS there is nothing to reload, but SIGHUP's default would end
/// the process (and `systemctl reload` sends it): it is logged instead.
pub fn log_sighup_without_tls() -> std::io::Result<()> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: no TLS certificate to reload");
        }
    });
    Ok(())
}
