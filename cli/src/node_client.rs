//! The client of a node named on the command line (`--node ADDR`): plain
//! HTTP, or TLS accepting exactly the certificate given with `--node-cert`
//! (the one the node's operator publishes, spec §17.4).

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};
use coalition_api::client::{Client, ClientTls};

/// The client for `addr`, over TLS pinned to `cert` when given.
pub fn client(addr: SocketAddr, cert: Option<&Path>) -> Result<Client> {
    Ok(match tls(cert)? {
        Some(tls) => Client::new(addr).with_tls(tls),
        None => Client::new(addr),
    })
}

/// TLS pinned to `cert`, if given.
pub fn tls(cert: Option<&Path>) -> Result<Option<ClientTls>> {
    cert.map(|path| {
        ClientTls::pinned_pem_file(path)
            .with_context(|| format!("the node certificate {}", path.display()))
    })
    .transpose()
}
