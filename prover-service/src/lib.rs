//! # coalition-prover-service
//!
//! `coalition prover serve`: a tokio service that proves Spend and Output
//! statements for wallets, batching jobs ([`queue`]) and computing their
//! MSMs on a GPU when one is present ([`coalition_prover::msm`]), over an
//! HTTP/JSON API ([`http`]) whose job and answer formats are [`jobs`] (the
//! `coalition-api` crate's, shared with the wallets that send them).
//!
//! **Privacy:** a job *is* the witness — spending key material, notes and
//! paths. Whoever runs the service can link the redemption to the notes and
//! spend them (papers/protocol.md §14.3). Run it for yourself or for wallets
//! that trust you with their notes; bind it to loopback unless it sits behind
//! authenticated TLS.

pub mod http;
pub mod queue;

pub use coalition_api::prover as jobs;

use std::net::SocketAddr;
use std::sync::Arc;

use coalition_prover::backend::ProvingBackend;

pub use jobs::ProveRequest;
pub use queue::{JobError, Keys, Queue, QueueConfig};

/// Serves the API on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: QueueConfig,
    keys: Keys,
    backend: Arc<dyn ProvingBackend>,
) -> std::io::Result<()> {
    let queue = Queue::start(config, keys, backend);
    axum::serve(listener, http::router(queue, config.max_arriving)).await
}

/// The default listening address: loopback only.
pub fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8787))
}
