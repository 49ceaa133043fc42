//! Accepting HTTP connections within bounds (spec §17.4).
//!
//! `axum::serve` accepts every connection and keeps it for as long as the
//! client likes: a probe holding 20,000 idle sockets from one address ran
//! the node out of file descriptors, and 500 sockets sending one header byte
//! every 2 s were never closed. So the node runs its own accept loop over
//! hyper's HTTP/1.1 server (the API and the node-to-node routes speak
//! nothing else), which axum does not let a caller configure:
//!
//! * every connection takes a place before a byte of it is read: at most
//!   `max_open` node-wide and `max_open_per_client` from one client (an
//!   IPv4 address or an IPv6 /64, the submissions' accounting, see
//!   [`gate`](crate::engine::gate)). One that finds none is closed at once and
//!   counted in `coalition_connections_refused_total`; its place is given
//!   back when the connection ends. Connections from the addresses of the
//!   partners' nodes named in `[replication] peers` are counted apart, each
//!   address with its own `max_open_per_client` places, so that clients
//!   filling the node cannot shut out replication;
//! * hyper's header timer runs whenever a connection waits for a request
//!   head, so a new connection that sends nothing, one trickling its
//!   headers and one idling between requests are each closed
//!   `header_timeout_ms` after the wait began. A body has its own bound
//!   (`[submissions] body_timeout_ms`) and every body a size bound;
//! * a connection buffers at most [`MAX_READ_BUFFER`] (hyper's default is
//!   about 400 KiB), so `max_open` connections hold little memory;
//! * a write that waits `write_stall_timeout_ms` for a client that reads
//!   nothing fails and closes the connection (`super::write_stall`): hyper
//!   has no write timer, and an event stream nobody reads would otherwise
//!   hold its place for good;
//! * with `[tls]`, each connection's TLS handshake runs in its own task and
//!   must finish within `header_timeout_ms` (a client stalling its
//!   handshake is a slow-header client like any other); the partner a
//!   client certificate is bound to rides on each of the connection's
//!   requests as a [`ConnectionPartner`] for the `/raft/*` handlers;
//! * accept errors (a connection reset before it was accepted, or the
//!   process out of descriptors) are logged and retried after a pause:
//!   they never end the server.
//!
//! On shutdown the loop stops accepting, asks every connection to finish
//! its request in flight and close, and waits for them at most
//! [`SHUTDOWN_GRACE`] (an event stream never finishes on its own), then
//! closes what is left.
//!
//! Clients that pool connections: an idle one is closed after
//! `header_timeout_ms` (10 s by default), without a `Keep-Alive` header, so
//! a pool must not keep them longer (reqwest's default is 90 s) or must
//! retry a request that found its connection closed.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use super::write_stall::WriteStallBound;
use super::Node;
use crate::engine::gate::{ClientKey, GatePass, GateRefusal, SubmissionGate, Submitter};
use crate::tls::{connection_partner, ConnectionPartner};

/// The most a connection buffers of what it reads (request heads and body
/// chunks waiting for the handler).
pub const MAX_READ_BUFFER: usize = 64 * 1024;

/// How long a node shutting down waits for its connections to close.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The pause after an accept error, so that a process out of descriptors
/// does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` within the node's `[connections]` bounds,
/// over TLS with `tls` when given, until `shutdown` resolves.
pub(crate) async fn serve_bounded(
    node: Node,
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<Arc<ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = tls.map(TlsAcceptor::from);
    let places = Places::new(&node);
    let header_timeout = Duration::from_millis(node.config().connections.header_timeout_ms);
    let write_stall = Duration::from_millis(node.config().connections.write_stall_timeout_ms);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_READ_BUFFER);
    let graceful = GracefulShutdown::new();
    // The connections' tasks, reaped as they end, aborted if the shutdown
    // grace runs out (each holds a place and a handle on the node).
    let mut tasks = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed; retrying");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let place = match places.enter(peer.ip()) {
            Ok(place) => place,
            Err(refusal) => {
                node.metrics().count_refused_connection();
                tracing::debug!(%peer, %refusal, "connection closed: no place open");
                continue;
            }
        };
        node.metrics().set_connections_open(places.open());
        // Answers are small and written whole: send them without waiting
        // for Nagle's timer. A failure only costs latency.
        let _ = stream.set_nodelay(true);
        let stream = WriteStallBound::new(stream, write_stall);
        let (node, places, app) = (node.clone(), places.clone(), app.clone());
        let (http, watcher, tls) = (http.clone(), graceful.watcher(), tls.clone());
        tasks.spawn(async move {
            let served = match tls {
                None => serve_one(&http, watcher, stream, &app, peer, None).await,
                Some(tls) => match tokio::time::timeout(header_timeout, tls.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        let partner = connection_partner(stream.get_ref().1.peer_certificates());
                        serve_one(&http, watcher, stream, &app, peer, partner).await
                    }
                    Ok(Err(error)) => Err(format!("TLS handshake: {error}")),
                    Err(_) => Err("TLS handshake timed out".into()),
                },
            };
            if let Err(error) = served {
                // Timeouts, resets, failed handshakes and malformed heads:
                // the client's doing.
                tracing::debug!(%peer, %error, "connection ended");
            }
            drop(place);
            node.metrics().set_connections_open(places.open());
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("connections still open after the shutdown grace; closing");
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Serves HTTP/1.1 on one accepted (and, with TLS, handshaken) connection
/// until it ends or the shutdown closes it.
async fn serve_one<S>(
    http: &http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    stream: S,
    app: &Router,
    peer: SocketAddr,
    partner: Option<ConnectionPartner>,
) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection =
        http.serve_connection(TokioIo::new(stream), per_connection(app, peer, partner));
    watcher.watch(connection).await.map_err(|e| e.to_string())
}

/// The places connections take: clients' and partners' nodes' apart.
#[derive(Clone)]
struct Places {
    /// The submissions' accounting, with a client's share as the
    /// per-client bound (a connection never comes from an envelope).
    clients: SubmissionGate,
    /// The same for the partners' node addresses, each with its own share.
    partners: SubmissionGate,
    partner_addresses: Arc<HashSet<ClientKey>>,
}

impl Places {
    fn new(node: &Node) -> Places {
        let limits = &node.config().connections;
        let partner_addresses: HashSet<ClientKey> = node
            .config()
            .replication
            .iter()
            .flat_map(|replication| &replication.peers)
            .map(|peer| ClientKey::of(peer.addr.ip()))
            .collect();
        let share = limits.max_open_per_client;
        Places {
            clients: SubmissionGate::new(limits.max_open, share, share),
            partners: SubmissionGate::new(partner_addresses.len().max(1) * share, share, share),
            partner_addresses: Arc::new(partner_addresses),
        }
    }

    fn enter(&self, ip: IpAddr) -> Result<GatePass, GateRefusal> {
        let gate = if self.partner_addresses.contains(&ClientKey::of(ip)) {
            &self.partners
        } else {
            &self.clients
        };
        gate.enter(Submitter::Client(ip))
    }

    fn open(&self) -> usize {
        self.clients.in_flight() + self.partners.in_flight()
    }
}

/// `app` as a hyper service for one connection from `peer`, which handlers
/// read as axum's `ConnectInfo` (the submission gate counts by it), and
/// the partner its client certificate is bound to, if any.
fn per_connection(
    app: &Router,
    peer: SocketAddr,
    partner: Option<ConnectionPartner>,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    let app = app.clone();
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if let Some(partner) = partner {
            request.extensions_mut().insert(partner);
        }
        app.clone().call(request)
    })
}
