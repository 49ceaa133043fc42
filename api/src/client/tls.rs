//! TLS for the blocking client (spec §17.6): rustls over the same socket,
//! TLS 1.3 only, with ring as the crypto provider.
//!
//! Nodes serve self-signed certificates (no public CA is involved), so a
//! client says which certificate it trusts: a customer's or partner's tool
//! pins the node's certificate ([`ClientTls::pinned`], the file the node's
//! operator publishes); a node dialling a partner's node passes its own
//! configuration, which checks the certificate's binding to that partner
//! ([`ClientTls::from_config`], built by the node). The handshake's
//! signature is verified with rustls's own functions in either case
//! ([`HandshakeSignatures`]).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::ClientError;

/// The crypto provider every TLS configuration of the coalition uses:
/// ring's. rustls deprecates it for lacking a post-quantum key exchange
/// (X25519MLKEM768, which only aws-lc-rs offers); aws-lc-rs would add
/// several minutes of C and a cmake requirement to every build on two
/// cores, and what the TLS carries is either public to the partners (the
/// ledger, whose amounts are ElGamal ciphertexts) or short-lived. The
/// decision is in spec §17.6; switching is this one function.
#[allow(deprecated)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS versions the coalition speaks: 1.3 only (every party runs
/// rustls or a browser; nothing older needs reaching).
pub const VERSIONS: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// How a client's connections are secured.
#[derive(Clone, Debug)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
}

impl ClientTls {
    /// Connections made with `config` (the node's configuration for its
    /// partners' nodes).
    pub fn from_config(config: Arc<ClientConfig>) -> ClientTls {
        ClientTls { config }
    }

    /// Connections that accept exactly the certificate `der` (and a
    /// handshake signed by its key), whatever names it carries.
    pub fn pinned(der: Vec<u8>) -> Result<ClientTls, ClientError> {
        let verifier = PinnedCertificate {
            der,
            signatures: HandshakeSignatures::new(),
        };
        let config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(ClientTls {
            config: Arc::new(config),
        })
    }

    /// [`Self::pinned`] to the first certificate of a PEM file.
    pub fn pinned_pem_file(path: &Path) -> Result<ClientTls, ClientError> {
        let der = CertificateDer::from_pem_file(path)
            .map_err(|e| ClientError::Tls(format!("{}: {e}", path.display())))?;
        ClientTls::pinned(der.as_ref().to_vec())
    }

    pub(super) fn config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }
}

/// Checks a handshake's signature with the provider's algorithms (the
/// part of certificate verification that pinning or a binding does not
/// change).
#[derive(Debug, Clone)]
pub struct HandshakeSignatures {
    algorithms: WebPkiSupportedAlgorithms,
}

impl Default for HandshakeSignatures {
    fn default() -> Self {
        HandshakeSignatures::new()
    }
}

impl HandshakeSignatures {
    /// The ring provider's algorithms.
    pub fn new() -> HandshakeSignatures {
        HandshakeSignatures {
            algorithms: provider().signature_verification_algorithms,
        }
    }

    /// A TLS 1.2 signature (never negotiated: the configurations are 1.3
    /// only; rustls still asks every verifier for it).
    pub fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    /// A TLS 1.3 signature.
    pub fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    /// The schemes the provider verifies.
    pub fn schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The three methods every rustls certificate verifier has that only
/// check the handshake's signature, delegated to the verifier's
/// `signatures: HandshakeSignatures` field (a pin or a partner binding
/// changes which certificate is accepted, never how its key signs).
#[macro_export]
macro_rules! handshake_signature_methods {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &::rustls::pki_types::CertificateDer<'_>,
            dss: &::rustls::DigitallySignedStruct,
        ) -> Result<::rustls::client::danger::HandshakeSignatureValid, ::rustls::Error> {
            self.signatures.tls12(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &::rustls::pki_types::CertificateDer<'_>,
            dss: &::rustls::DigitallySignedStruct,
        ) -> Result<::rustls::client::danger::HandshakeSignatureValid, ::rustls::Error> {
            self.signatures.tls13(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<::rustls::SignatureScheme> {
            self.signatures.schemes()
        }
    };
}

/// Accepts one certificate, byte for byte.
#[derive(Debug)]
struct PinnedCertificate {
    der: Vec<u8>,
    signatures: HandshakeSignatures,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // A certificate is public: no need for a constant-time comparison.
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    crate::handshake_signature_methods!();
}
