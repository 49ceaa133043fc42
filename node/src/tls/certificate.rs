//! A partner's node certificate: made for an identity, loaded from PEM.

use std::path::Path;

use coalition_core::keys::{IdentityKeys, PublicIdentity};
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use super::binding::{bound_identity, extension_value, now_unix, BINDING_OID};
use super::TlsError;

/// The longest validity [`generate`] gives a certificate.
pub const MAX_VALID_DAYS: u32 = 3650;
/// How far back a new certificate's validity starts, for peers whose
/// clocks run behind.
const BACKDATE_SECONDS: i64 = 3600;

/// A node's certificate and key, the certificate bound to its partner.
pub struct NodeCertificate {
    /// The certificate (DER).
    pub certificate: CertificateDer<'static>,
    /// The partner it is bound to.
    pub identity: PublicIdentity,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for NodeCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCertificate")
            .field("identity", &self.identity.loyalty_id())
            .finish_non_exhaustive()
    }
}

impl NodeCertificate {
    /// Reads a certificate (PEM, the first certificate in the file) and
    /// its private key (PEM, PKCS#8, SEC1 or PKCS#1), and checks the
    /// binding now.
    pub fn load(certificate: &Path, key: &Path) -> Result<NodeCertificate, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map(Zeroizing::new)
                .map_err(|source| TlsError::Read {
                    path: path.to_path_buf(),
                    source,
                })
        };
        let (certificate_pem, key_pem) = (read(certificate)?, read(key)?);
        let certificate_der =
            first_certificate(&certificate_pem).map_err(|reason| TlsError::Pem {
                path: certificate.to_path_buf(),
                reason,
            })?;
        let key_der = private_key(&key_pem).map_err(|reason| TlsError::Pem {
            path: key.to_path_buf(),
            reason,
        })?;
        NodeCertificate::from_der(certificate_der, key_der)
    }

    /// The certificate `[tls]` names, if the configuration has the section.
    pub fn configured(
        section: Option<&crate::config::TlsSection>,
    ) -> Result<Option<NodeCertificate>, TlsError> {
        section
            .map(|section| NodeCertificate::load(&section.certificate, &section.key))
            .transpose()
    }

    /// [`Self::load`] from PEM text already read.
    pub fn from_pem(certificate: &str, key: &str) -> Result<NodeCertificate, TlsError> {
        let pem_error = |reason| TlsError::Pem {
            path: "(PEM text)".into(),
            reason,
        };
        NodeCertificate::from_der(
            first_certificate(certificate.as_bytes()).map_err(pem_error)?,
            private_key(key.as_bytes()).map_err(pem_error)?,
        )
    }

    /// A certificate and key already decoded; the binding checked now.
    pub fn from_der(
        certificate: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
    ) -> Result<NodeCertificate, TlsError> {
        let identity = bound_identity(&certificate, now_unix())?;
        Ok(NodeCertificate {
            certificate,
            identity,
            key,
        })
    }

    /// The private key (for a rustls configuration).
    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

/// The first certificate of a PEM file's text.
fn first_certificate(pem: &[u8]) -> Result<CertificateDer<'static>, String> {
    CertificateDer::pem_slice_iter(pem)
        .next()
        .ok_or("no CERTIFICATE in PEM")?
        .map_err(|e| e.to_string())
}

/// The private key of a PEM file's text.
fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("no private key in PEM ({e})"))
}

/// A new certificate and key, as PEM.
pub struct GeneratedCertificate {
    /// The certificate: public, given to the partners and clients that pin it.
    pub certificate_pem: String,
    /// The private key (PKCS#8): stays with the node.
    pub key_pem: Zeroizing<String>,
}

/// Makes a fresh ECDSA P-256 key (from the OS's randomness, through ring)
/// and a self-signed certificate for it, valid for `valid_days` (at most
/// [`MAX_VALID_DAYS`]), naming `names` (DNS names or IP addresses, for
/// clients that check them) and bound to `keys`' identity.
pub fn generate(
    keys: &IdentityKeys,
    names: &[String],
    valid_days: u32,
) -> Result<GeneratedCertificate, TlsError> {
    if valid_days == 0 || valid_days > MAX_VALID_DAYS {
        return Err(TlsError::Generate(format!(
            "validity of {valid_days} days (1 to {MAX_VALID_DAYS})"
        )));
    }
    let generate_error = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate_error)?;
    let now = now_unix();
    let not_after = now + i64::from(valid_days) * 86_400;
    let at = |secs: i64| {
        time::OffsetDateTime::from_unix_timestamp(secs)
            .map_err(|e| TlsError::Generate(e.to_string()))
    };
    let mut params = CertificateParams::new(names.to_vec()).map_err(generate_error)?;
    let mut subject = DistinguishedName::new();
    subject.push(
        DnType::CommonName,
        format!("coalition partner {}", keys.loyalty_id()),
    );
    params.distinguished_name = subject;
    params.not_before = at(now - BACKDATE_SECONDS)?;
    params.not_after = at(not_after)?;
    let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            BINDING_OID,
            extension_value(keys, not_after, &spki),
        ));
    let certificate = params.self_signed(&key).map_err(generate_error)?;
    Ok(GeneratedCertificate {
        certificate_pem: certificate.pem(),
        key_pem: Zeroizing::new(key.serialize_pem()),
    })
}
