//! How a node dials its partners' nodes over mutual TLS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use coalition_api::client::ClientTls;
use coalition_core::keys::{LoyaltyId, PublicIdentity};

use super::{peer_client_config, NodeCertificate, TlsError};

/// Most partner configurations kept (the member cap is 256; past this the
/// cache starts over rather than grow with governance churn).
const MAX_CONFIGURATIONS: usize = 1024;

/// This node's certificate, and one client configuration per partner
/// identity it expects, made on first use: Raft dials the same few
/// partners many times a second (one connection per request), and making
/// a configuration parses the private key each time. A configuration is
/// keyed by the identity it accepts, so a partner whose identity changes
/// with governance gets a new one.
pub struct PartnerDialer {
    own: NodeCertificate,
    configurations: Mutex<HashMap<Option<LoyaltyId>, ClientTls>>,
}

impl PartnerDialer {
    /// Dials with `own` as the client certificate.
    pub fn new(own: NodeCertificate) -> Arc<PartnerDialer> {
        Arc::new(PartnerDialer {
            own,
            configurations: Mutex::default(),
        })
    }

    /// The configuration accepting only a certificate bound to `expected`
    /// (to any partner for `None`).
    pub fn to(&self, expected: Option<PublicIdentity>) -> Result<ClientTls, TlsError> {
        let key = expected.map(|identity| identity.loyalty_id());
        // A map of configurations: a panic elsewhere cannot leave it half
        // changed.
        let mut configurations = self
            .configurations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(tls) = configurations.get(&key) {
            return Ok(tls.clone());
        }
        if configurations.len() >= MAX_CONFIGURATIONS {
            configurations.clear();
        }
        let tls = peer_client_config(&self.own, expected)?;
        configurations.insert(key, tls.clone());
        Ok(tls)
    }
}
