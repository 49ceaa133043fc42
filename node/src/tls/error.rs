//! Why a certificate or a TLS configuration was refused.

use std::path::PathBuf;

/// Why a certificate, a key or a TLS configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no certificate or key in PEM, or more than one key.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The certificate is not DER X.509.
    #[error("the certificate does not parse: {0}")]
    Malformed(String),
    /// The certificate carries no partner binding.
    #[error("the certificate carries no partner binding")]
    Unbound,
    /// The binding's encoding or its identity is malformed.
    #[error("the certificate's partner binding is malformed")]
    BadBinding,
    /// The binding's signature does not verify under the identity it names
    /// (or covers another key or expiry).
    #[error("the certificate's partner binding is not signed by the identity it names")]
    BadSignature,
    /// Outside the certificate's validity window.
    #[error(
        "the certificate is not valid now (valid from {not_before} to {not_after}, Unix seconds)"
    )]
    Expired {
        /// Start of validity.
        not_before: i64,
        /// End of validity.
        not_after: i64,
    },
    /// The certificate's binding names another identity than the one its
    /// user expects.
    #[error("the certificate is bound to {got}, not to {expected}")]
    WrongPartner {
        /// The expected partner's loyalty ID.
        expected: String,
        /// The certificate's.
        got: String,
    },
    /// The private key does not belong to the certificate, or rustls
    /// refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
    /// Making a certificate failed.
    #[error("making the certificate failed: {0}")]
    Generate(String),
}
