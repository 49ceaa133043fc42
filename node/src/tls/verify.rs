//! The rustls verifiers of partners' certificates.
//!
//! Both check the [`binding`](super::binding) (and so the certificate's
//! validity window) and leave the handshake signature to rustls's own
//! functions ([`HandshakeSignatures`]). Chains are not used: a partner's
//! certificate stands alone, and intermediates a peer sends are ignored.

use coalition_api::client::HandshakeSignatures;
use coalition_core::keys::PublicIdentity;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DistinguishedName};

use super::binding::bound_identity;
use super::TlsError;

/// The certificate's binding checked at `now`, as a rustls error.
fn check(end_entity: &CertificateDer<'_>, now: UnixTime) -> Result<PublicIdentity, rustls::Error> {
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    bound_identity(end_entity, now).map_err(|e| {
        tracing::debug!(error = %e, "a partner certificate was refused");
        rustls::Error::InvalidCertificate(match e {
            TlsError::Malformed(_) => CertificateError::BadEncoding,
            TlsError::Expired { .. } => CertificateError::Expired,
            _ => CertificateError::ApplicationVerificationFailure,
        })
    })
}

/// What a node dialling a partner's node accepts: a certificate bound to
/// that partner's identity (as the committed governance records it), or,
/// for a join request sent to whichever node answers, to any partner.
#[derive(Debug)]
pub struct PartnerServerVerifier {
    expected: Option<PublicIdentity>,
    signatures: HandshakeSignatures,
}

impl PartnerServerVerifier {
    /// Accepts certificates bound to `expected` (to any partner for `None`).
    pub fn new(expected: Option<PublicIdentity>) -> PartnerServerVerifier {
        PartnerServerVerifier {
            expected,
            signatures: HandshakeSignatures::new(),
        }
    }
}

impl ServerCertVerifier for PartnerServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let identity = check(end_entity, now)?;
        let Some(expected) = self.expected else {
            return Ok(ServerCertVerified::assertion());
        };
        if identity != expected {
            tracing::warn!(
                expected = %expected.loyalty_id(),
                got = %identity.loyalty_id(),
                "a partner's node presented a certificate bound to another partner"
            );
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(ServerCertVerified::assertion())
    }

    coalition_api::handshake_signature_methods!();
}

/// What a node's listener accepts from clients: no certificate (customers,
/// auditors, tools), or one carrying a valid partner binding. Which
/// partner it must be is the `/raft/*` handlers' question (the envelope's
/// signer), asked once the request arrives; a certificate with a broken or
/// expired binding fails the handshake.
#[derive(Debug)]
pub struct PartnerClientVerifier {
    signatures: HandshakeSignatures,
}

impl Default for PartnerClientVerifier {
    fn default() -> Self {
        PartnerClientVerifier {
            signatures: HandshakeSignatures::new(),
        }
    }
}

impl ClientCertVerifier for PartnerClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        check(end_entity, now).map(|_| ClientCertVerified::assertion())
    }

    coalition_api::handshake_signature_methods!();
}

/// The partner a connection's client certificate is bound to: a request
/// extension on every request of a TLS connection that presented one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionPartner(pub PublicIdentity);

/// The partner bound to the first of `certificates` (a TLS connection's
/// client chain, already verified in the handshake), if any.
pub fn connection_partner(
    certificates: Option<&[CertificateDer<'_>]>,
) -> Option<ConnectionPartner> {
    let end_entity = certificates?.first()?;
    bound_identity(end_entity, super::binding::now_unix())
        .ok()
        .map(ConnectionPartner)
}
