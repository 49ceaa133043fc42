//! The HTTP layer (spec §17.4): the public API's handlers ([`api`]), the
//! node-to-node routes from [`crate::replication`], the generated OpenAPI
//! document ([`openapi`]), the accept loop with its connection bounds
//! ([`connections`]), and the entry points that run a node.
//!
//! The layering is one-way — HTTP → [`crate::replication`] →
//! [`crate::submission`] → [`crate::engine`] → ledger and store — and an
//! [`App`] owns the engine and the replication side by side, as openraft's
//! own examples do, so nothing below holds a pointer back up.

pub mod api;
mod connections;
pub mod extract;
pub mod openapi;
mod write_stall;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::Router;
use coalition_params::ShieldedVerifyingKeys;

use crate::config::NodeConfig;
use crate::engine::{Node, NodeError};
use crate::replication::{Replication, ReplicationError};
use crate::tls::{server_config, NodeCertificate};

/// What the HTTP handlers share: the engine and, on a replica, the
/// replication that feeds it.
#[derive(Clone)]
pub struct App {
    /// The engine.
    pub node: Node,
    /// Raft, when this node replicates.
    pub replication: Option<Arc<Replication>>,
}

/// Handlers that need only the engine extract `State<Node>`.
impl FromRef<App> for Node {
    fn from_ref(app: &App) -> Node {
        app.node.clone()
    }
}

/// Why a node could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The node could not open or act.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// Replication could not start.
    #[error(transparent)]
    Replication(#[from] ReplicationError),
    /// The `[tls]` certificate or key is unusable.
    #[error("[tls]: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The API could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs a node: opens it, serves the API on `config.listen` and produces
/// blocks until ctrl-c. Prints `listening on ADDR` once ready.
///
/// With a `[replication]` section the node joins its partners' cluster
/// (spec §20) as `identity` — the partner's keys; `None` takes the
/// section's `dev_identity` (dev mode only) — and blocks come from the Raft
/// leader instead of a local producer.
pub async fn run(
    config: NodeConfig,
    keys: Option<Arc<ShieldedVerifyingKeys>>,
    identity: Option<coalition_core::keys::IdentityKeys>,
) -> Result<(), ServeError> {
    let node = tokio::task::spawn_blocking(move || Node::open(config, keys))
        .await
        .map_err(|e| NodeError::Params(format!("start-up task failed: {e}")))??;
    let listener = tokio::net::TcpListener::bind(node.config().listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: node.config().listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: node.config().listen,
        source,
    })?;
    let tip = node.tip();
    println!(
        "coalition node: chain {} at height {} (state {})",
        hex::encode(tip.chain.0),
        tip.height,
        hex::encode(tip.state_hash)
    );
    let identity = match (identity, node.config().replication.as_ref()) {
        (Some(identity), _) => Some(identity),
        (None, Some(settings)) => match &settings.dev_identity {
            Some(name) => {
                let (_, dev_mode) = node.config().genesis().map_err(NodeError::from)?;
                if !dev_mode {
                    return Err(NodeError::Config(crate::config::ConfigError::Invalid(
                        "[replication] dev_identity needs dev_mode = true".into(),
                    ))
                    .into());
                }
                Some(crate::config::dev_identity(name))
            }
            None => {
                return Err(NodeError::Config(crate::config::ConfigError::Invalid(
                    "[replication] names no identity".into(),
                ))
                .into())
            }
        },
        (None, None) => None,
    };
    match (node.config().replication.clone(), identity) {
        (Some(settings), Some(identity)) => {
            serve_replicated(node, listener, identity, settings, shutdown_signal()).await
        }
        _ => {
            println!("listening on {addr}");
            serve(node, listener, shutdown_signal())
                .await
                .map_err(|source| ServeError::Bind { addr, source })
        }
    }
}

/// Serves `node` on an already-bound listener as one replica of its
/// coalition (spec §20): starts Raft as the partner `identity` with
/// `settings`, adds the node-to-node routes to the API, and prints
/// `listening on ADDR` once both run. Blocks come from the Raft leader.
pub async fn serve_replicated(
    node: Node,
    listener: tokio::net::TcpListener,
    identity: coalition_core::keys::IdentityKeys,
    settings: crate::config::ReplicationSection,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: node.config().listen,
        source,
    })?;
    let advertise = settings.advertise.unwrap_or(addr);
    // Read once: the listener serves it, the replication dials with it.
    let tls = NodeCertificate::configured(node.config().tls.as_ref())?;
    let server = tls.as_ref().map(server_config).transpose()?;
    let replication = Replication::start(node.clone(), identity, &settings, advertise, tls).await?;
    println!(
        "coalition node: replicating as node {} (advertised at {advertise})",
        replication.id()
    );
    let app = App {
        node: node.clone(),
        replication: Some(replication.clone()),
    };
    let router = extract::with_json_refusals(public_router(app).merge(
        crate::replication::rpc::routes(node.clone(), replication.clone()),
    ));
    println!("listening on {addr}");
    let served = connections::serve_bounded(node, listener, router, server, shutdown).await;
    let _ = replication.raft().shutdown().await;
    served.map_err(|source| ServeError::Bind { addr, source })
}

/// The public routes over `app`, with their body limit. The served router
/// gets its JSON refusals once, after every merge
/// ([`extract::with_json_refusals`]).
fn public_router(app: App) -> Router {
    let limit = app.node.config().max_body_bytes;
    let (router, _) = openapi::routes()
        .layer(DefaultBodyLimit::max(limit))
        .split_for_parts();
    router.with_state(app)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Serves `node` on an already-bound listener (tests, the demo).
pub async fn serve(
    node: Node,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let producer = tokio::spawn(node.clone().produce_blocks(async move {
        let mut rx = rx;
        let _ = rx.changed().await;
    }));
    let router = extract::with_json_refusals(public_router(App {
        node: node.clone(),
        replication: None,
    }));
    let server = NodeCertificate::configured(node.config().tls.as_ref())
        .and_then(|own| own.as_ref().map(server_config).transpose())
        .map_err(std::io::Error::other)?;
    let result = connections::serve_bounded(node, listener, router, server, async move {
        shutdown.await;
        let _ = tx.send(true);
    })
    .await;
    let _ = producer.await;
    result
}
