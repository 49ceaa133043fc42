//! Transport security (spec §17.6): TLS 1.3 on the node's one listener (the
//! API and the node-to-node routes), and mutual TLS between partners'
//! nodes with each node's certificate bound to its partner's identity.
//!
//! No public CA is involved. A partner's node holds a self-signed
//! certificate whose [`binding`] extension carries the partner's public
//! identity and that identity's Ed25519 signature over the certificate's
//! public key and expiry. So a certificate speaks for a partner exactly
//! when the partner signed it, and the genesis (or the governance that
//! admitted the partner) is what pins it: a node dialling a peer accepts
//! only a certificate bound to the identity that peer's partner has in the
//! committed governance ([`verify::PartnerServerVerifier`]); a node asked
//! on a `/raft/*` route accepts the request only when the connection's
//! client certificate is bound to the partner who signed the envelope
//! ([`verify::PartnerClientVerifier`], checked in the RPC handlers).
//! Customers' clients pin the node's certificate itself.
//!
//! * [`binding`]: the extension's format, made and checked;
//! * [`certificate`]: making a node certificate, loading one from PEM;
//! * [`verify`]: the rustls verifiers;
//! * [`setup`]: the server and peer-client configurations;
//! * [`PartnerDialer`]: the peer-client configurations a node keeps.

pub mod binding;
pub mod certificate;
mod dialer;
mod error;
pub mod setup;
pub mod verify;

pub use binding::bound_identity;
pub use certificate::{generate, NodeCertificate};
pub use dialer::PartnerDialer;
pub use error::TlsError;
pub use setup::{peer_client_config, server_config};
pub use verify::{connection_partner, ConnectionPartner};
