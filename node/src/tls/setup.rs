//! The rustls configurations a node uses: its listener's, and one per
//! partner's node it dials.

use std::sync::Arc;

use coalition_api::client::{provider, ClientTls, VERSIONS};
use coalition_core::keys::PublicIdentity;
use rustls::{ClientConfig, ServerConfig};

use super::verify::{PartnerClientVerifier, PartnerServerVerifier};
use super::{NodeCertificate, TlsError};

/// The listener's configuration: `own` as the server certificate, client
/// certificates optional and, when sent, bound to a partner.
pub fn server_config(own: &NodeCertificate) -> Result<Arc<ServerConfig>, TlsError> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(Arc::new(PartnerClientVerifier::default()))
        .with_single_cert(vec![own.certificate.clone()], own.key())
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(config))
}

/// The configuration for dialling the node of the partner `expected`:
/// `own` as the client certificate, the server's bound to `expected`
/// (to any partner for `None`).
pub fn peer_client_config(
    own: &NodeCertificate,
    expected: Option<PublicIdentity>,
) -> Result<ClientTls, TlsError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PartnerServerVerifier::new(expected)))
        .with_client_auth_cert(vec![own.certificate.clone()], own.key())
        .map_err(|e| TlsError::Config(e.to_string()))?;
    // No session resumption: a resumed session would skip the check of the
    // partner's certificate, which governance may have replaced meanwhile.
    let mut config = config;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(ClientTls::from_config(Arc::new(config)))
}
