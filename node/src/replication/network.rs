//! The Raft client: each RPC is a signed envelope POSTed to the peer's
//! `/raft/*` route, and its answer must be signed by the partner whose node
//! was asked (spec §20.3).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use coalition_core::keys::{IdentityKeys, LoyaltyId, PublicIdentity};
use coalition_core::transaction::ChainId;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::envelope::{open_response, seal_request};
use super::{committed_member, Counters, Leader, PeerNode, Replication, TypeConfig};
use crate::engine::{now_ms, Node};
use crate::tls::PartnerDialer;
use coalition_api::client::{Client, ClientError, ClientTls, Response};

/// Route of AppendEntries.
pub const ROUTE_APPEND: &str = "/raft/append";
/// Route of RequestVote.
pub const ROUTE_VOTE: &str = "/raft/vote";
/// Route of InstallSnapshot (chunks).
pub const ROUTE_SNAPSHOT: &str = "/raft/snapshot";
/// Route of a join request.
pub const ROUTE_JOIN: &str = "/raft/join";
/// Route of a submission a follower forwards to the leader (§20.5).
pub const ROUTE_FORWARD: &str = "/raft/forward";
/// A forwarded submission's body is a random nonce of this many bytes, then
/// the transaction's encoding.
pub const FORWARD_NONCE_BYTES: usize = 16;

/// Makes a [`PeerClient`] per target.
pub struct Network {
    node: Node,
    keys: Arc<IdentityKeys>,
    chain: ChainId,
    counters: Arc<Counters>,
    tls: Option<Arc<PartnerDialer>>,
}

impl Network {
    /// Clients signing as `keys` for `node`'s coalition, over mutual TLS
    /// through `tls` when the node has a certificate.
    pub fn new(
        node: Node,
        keys: Arc<IdentityKeys>,
        chain: ChainId,
        counters: Arc<Counters>,
        tls: Option<Arc<PartnerDialer>>,
    ) -> Self {
        Network {
            node,
            keys,
            chain,
            counters,
            tls,
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, peer: &PeerNode) -> PeerClient {
        PeerClient {
            target,
            peer: peer.clone(),
            node: self.node.clone(),
            keys: self.keys.clone(),
            chain: self.chain,
            counters: self.counters.clone(),
            tls: self.tls.clone(),
        }
    }
}

/// Sends one node's RPCs.
pub struct PeerClient {
    target: u64,
    peer: PeerNode,
    node: Node,
    keys: Arc<IdentityKeys>,
    chain: ChainId,
    counters: Arc<Counters>,
    tls: Option<Arc<PartnerDialer>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TransportError(String);

fn network<E: std::error::Error>(
    why: impl std::fmt::Display,
) -> RPCError<u64, PeerNode, RaftError<u64, E>> {
    RPCError::Network(NetworkError::new(&TransportError(why.to_string())))
}

impl PeerClient {
    async fn call<Req, Resp, E>(
        &self,
        route: &'static str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, RPCError<u64, PeerNode, RaftError<u64, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let (addr, expected) = resolve(&self.node, self.target, &self.peer).map_err(network)?;
        let body = serde_json::to_vec(request).map_err(network)?;
        let (envelope, signature) =
            seal_request(&self.keys, &self.chain, route, self.target, now_ms(), &body);
        let tls = peer_tls(self.tls.as_deref(), Some(expected)).map_err(network)?;
        let response = match post_envelope(tls, addr, route, envelope, timeout).await {
            Ok(r) => r,
            Err(e @ ClientError::Unreachable { .. }) => {
                return Err(RPCError::Unreachable(Unreachable::new(&TransportError(
                    e.to_string(),
                ))))
            }
            Err(e) => return Err(network(e)),
        };
        if response.status == 413 {
            // Fewer entries per message, down to one.
            return Err(RPCError::PayloadTooLarge(
                openraft::error::PayloadTooLarge::new_entries_hint(1),
            ));
        }
        if response.status != 200 {
            return Err(network(format!(
                "peer answered {}: {}",
                response.status,
                response.text()
            )));
        }
        let body = open_response(&response.body, &self.chain, route, &expected, &signature)
            .map_err(|e| {
                self.counters
                    .messages_rejected
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                network(e)
            })?;
        let result: Result<Resp, RaftError<u64, E>> =
            serde_json::from_slice(body).map_err(network)?;
        result.map_err(|e| {
            RPCError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.peer.clone(),
                e,
            ))
        })
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, PeerNode, RaftError<u64>>> {
        self.call(ROUTE_APPEND, &rpc, option.hard_ttl()).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, PeerNode, RaftError<u64, InstallSnapshotError>>,
    > {
        self.call(ROUTE_SNAPSHOT, &rpc, option.hard_ttl()).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, PeerNode, RaftError<u64>>> {
        self.call(ROUTE_VOTE, &rpc, option.hard_ttl()).await
    }
}

/// How this node dials a partner's node: through `dialer` (when it has
/// `[tls]`), accepting only a certificate bound to `expected` (any
/// partner's for `None`: a join request, whose answer is not trusted
/// anyway); plain HTTP otherwise.
fn peer_tls(
    dialer: Option<&PartnerDialer>,
    expected: Option<PublicIdentity>,
) -> Result<Option<ClientTls>, String> {
    dialer
        .map(|dialer| dialer.to(expected).map_err(|e| e.to_string()))
        .transpose()
}

/// POSTs a sealed envelope to `route` at `addr` (over `tls` when given),
/// on a blocking thread (the HTTP client is synchronous).
async fn post_envelope(
    tls: Option<ClientTls>,
    addr: SocketAddr,
    route: &'static str,
    envelope: Vec<u8>,
    timeout: Duration,
) -> Result<Response, ClientError> {
    tokio::task::spawn_blocking(move || {
        let client = Client::new(addr).with_timeout(timeout);
        let client = match tls {
            Some(tls) => client.with_tls(tls),
            None => client,
        };
        client.post(route, "application/octet-stream", &envelope)
    })
    .await
    .map_err(|e| ClientError::Io(std::io::Error::other(e)))?
}

/// Where `peer` (node `target`) is reached, and the identity its answers
/// must be signed with: its partner's, as governance or the Raft
/// membership records it.
fn resolve(
    node: &Node,
    target: u64,
    peer: &PeerNode,
) -> Result<(SocketAddr, PublicIdentity), String> {
    let addr: SocketAddr = peer
        .addr
        .parse()
        .map_err(|_| format!("bad peer address {:?}", peer.addr))?;
    let member = hex::decode(&peer.member)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(LoyaltyId)
        .ok_or("bad peer member ID")?;
    let expected = committed_member(node, &member)
        .or_else(|| peer.public_identity())
        .ok_or_else(|| format!("node {target} is not a member's"))?;
    Ok((addr, expected))
}

/// What the leader answered a forwarded submission: the status and JSON
/// body it would have answered the client, under its partner's signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardedAnswer {
    /// The HTTP status (202 admitted, 4xx refused, 429 busy, 503 not
    /// leading).
    pub status: u16,
    /// The JSON body.
    pub answer: serde_json::Value,
}

/// Why a forwarded submission got no answer from the leader.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The leader could not be reached, or is not a member's node.
    #[error("the leader could not be reached: {0}")]
    Unreachable(String),
    /// The leader had no place for it (an unsigned `429`).
    #[error("the leader is busy: {0}")]
    Busy(String),
    /// The leader refused the envelope (unsigned: 400 a body not matching
    /// its head, 403 not a member's or not for it, 408 too slow, 413 over
    /// its `max_body_bytes`).
    #[error("the leader refused the forwarded submission: {status} {reason}")]
    Refused {
        /// Its HTTP status.
        status: u16,
        /// Its answer.
        reason: String,
    },
    /// The answer is not one the leader's partner signed for this request,
    /// or does not parse.
    #[error("the leader's answer to a forwarded submission: {0}")]
    BadAnswer(String),
}

impl ForwardError {
    /// Whether the leader will never take these bytes, whoever forwards
    /// them (a body over its `max_body_bytes`, which may be smaller than
    /// this node's): a hand-over drops the transaction rather than retry
    /// it first on every tick, holding back the rest behind it.
    pub fn is_final(&self) -> bool {
        matches!(self, ForwardError::Refused { status: 413, .. })
    }
}

/// Forwards the transaction `bytes` (undecoded) to `leader`, in an envelope
/// this node's partner signs for that node, and opens the answer, which
/// must be signed by the leader's partner for this request (§20.5). The
/// leader counts it against its partner's share, not a client's (§17.4).
pub(crate) async fn forward_submission(
    node: &Node,
    replication: &Replication,
    leader: &Leader,
    bytes: &[u8],
    timeout: Duration,
) -> Result<ForwardedAnswer, ForwardError> {
    let (addr, expected) =
        resolve(node, leader.id, &leader.peer).map_err(ForwardError::Unreachable)?;
    // A fresh nonce makes every forward its own request: the same bytes
    // forwarded twice within a millisecond (a retry after a 429) would
    // otherwise sign to the same head, which the leader refuses as a
    // replay.
    let mut nonce = [0u8; FORWARD_NONCE_BYTES];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let mut body = Vec::with_capacity(FORWARD_NONCE_BYTES + bytes.len());
    body.extend_from_slice(&nonce);
    body.extend_from_slice(bytes);
    let (envelope, signature) = seal_request(
        &replication.keys,
        &replication.chain,
        ROUTE_FORWARD,
        leader.id,
        now_ms(),
        &body,
    );
    let tls =
        peer_tls(replication.tls.as_deref(), Some(expected)).map_err(ForwardError::Unreachable)?;
    let response = post_envelope(tls, addr, ROUTE_FORWARD, envelope, timeout)
        .await
        .map_err(|e| ForwardError::Unreachable(e.to_string()))?;
    match response.status {
        200 => {}
        429 => return Err(ForwardError::Busy(response.text())),
        status => {
            return Err(ForwardError::Refused {
                status,
                reason: response.text(),
            })
        }
    }
    let body = open_response(
        &response.body,
        &replication.chain,
        ROUTE_FORWARD,
        &expected,
        &signature,
    )
    .map_err(|e| {
        replication
            .counters
            .messages_rejected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ForwardError::BadAnswer(e.to_string())
    })?;
    serde_json::from_slice(body).map_err(|e| ForwardError::BadAnswer(e.to_string()))
}

pub use coalition_api::raft::JoinRequest;

/// Why a join request was not accepted.
#[derive(Debug)]
pub(crate) struct JoinRefused {
    /// What the node answered, or why it could not be reached.
    pub reason: String,
    /// The leader a node that does not lead named (unauthenticated: at
    /// worst a signed join request goes to the wrong address).
    pub leader: Option<SocketAddr>,
}

/// Sends a join request to `peer` (any node: a follower answers with 503
/// and the leader it knows, the leader adds the node as a learner if its
/// partner is a member). The answer is not authenticated: the joiner
/// learns it was added from the Raft membership it then receives, not
/// from this reply.
pub(crate) async fn request_join(
    replication: &Replication,
    peer: SocketAddr,
) -> Result<(), JoinRefused> {
    let refused = |reason: String| JoinRefused {
        reason,
        leader: None,
    };
    let body = serde_json::to_vec(&JoinRequest {
        addr: replication.advertise.to_string(),
    })
    .map_err(|e| refused(e.to_string()))?;
    // Recipient 0: any node (joining is idempotent).
    let (envelope, _) = seal_request(
        &replication.keys,
        &replication.chain,
        ROUTE_JOIN,
        0,
        now_ms(),
        &body,
    );
    let tls = peer_tls(replication.tls.as_deref(), None).map_err(refused)?;
    let response = post_envelope(tls, peer, ROUTE_JOIN, envelope, Duration::from_secs(5))
        .await
        .map_err(|e| refused(e.to_string()))?;
    match response.status {
        200 | 202 => Ok(()),
        status => Err(JoinRefused {
            reason: format!("{status} {}", response.text()),
            leader: response
                .json()
                .ok()
                .and_then(|answer| answer["leader"].as_str()?.parse().ok()),
        }),
    }
}
