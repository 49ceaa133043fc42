//! The receiving side of node-to-node messages: `/raft/append`,
//! `/raft/vote`, `/raft/snapshot`, `/raft/join` and `/raft/forward`
//! (submissions a follower forwards, §20.5) (spec §20.3).
//!
//! Each request's head is opened with [`super::envelope::open_request_head`]
//! against this node's committed governance as soon as its first bytes
//! arrive — a non-member, a bad signature, a message for another node or
//! one outside the clock window is refused with 403 before the body is
//! read, let alone buffered or seen by Raft — and the body is then read up
//! to its signed length and checked against its signed hash. Each answer is
//! signed by this node's partner.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use coalition_api::error::ErrorBody;
use coalition_api::raft::{JoinAnswer, JoinRequest, JoinState, NotLeader};
use futures_util::StreamExt;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::envelope::{
    open_request_head, seal_response, EnvelopeError, MAX_CLOCK_SKEW_MS, REQUEST_HEAD,
};
use super::network::{
    ForwardedAnswer, FORWARD_NONCE_BYTES, ROUTE_APPEND, ROUTE_FORWARD, ROUTE_JOIN, ROUTE_SNAPSHOT,
    ROUTE_VOTE,
};
use super::SubmissionRoute;
use super::{committed_member, known_sender, node_id, PeerNode, Replication, TypeConfig};
use crate::engine::gate::Submitter;
use crate::engine::{now_ms, Node};
use crate::submission::{self, ApiError};
use crate::tls::ConnectionPartner;
use coalition_core::keys::LoyaltyId;

/// Largest node-to-node message (a batch of entries or a snapshot chunk).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// Largest snapshot received (the chain's blocks, written to a file as the
/// chunks arrive; chunks past it are refused).
pub const MAX_SNAPSHOT_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Largest vote or join request (a few hundred bytes of JSON in practice):
/// those routes never need the batch-of-blocks bound.
pub const MAX_SMALL_MESSAGE_BYTES: usize = 64 * 1024;
/// How long one request may take to arrive, head and body.
pub const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Most request signatures remembered for the clock window; past it (a
/// rate no real cluster reaches) requests are refused as busy rather than
/// let through unremembered.
const MAX_REMEMBERED_HEADS: usize = 1 << 20;

/// The signatures of request heads accepted within the clock window, with
/// their timestamps: each head opens once. Without this, anyone who saw a
/// member's large request on the wire could replay its head for the
/// window's 60 s on many connections and make this node hold a body of up
/// to the signed length on each.
#[derive(Default)]
struct SeenHeads(Mutex<Seen>);

#[derive(Default)]
struct Seen {
    heads: HashMap<[u8; 64], u64>,
    /// The size at which heads that left the window are next dropped:
    /// twice what the last pruning kept (at least [`PRUNE_FROM`]), so the
    /// scans cost O(1) per head however many the window holds.
    prune_at: usize,
}

/// The table is never pruned below this many heads.
const PRUNE_FROM: usize = 4096;

impl SeenHeads {
    /// Records `signature` (timestamp `at`); `Err` if it was seen already
    /// or the table is full.
    fn first_use(&self, signature: [u8; 64], at: u64, now: u64) -> Result<(), &'static str> {
        let mut seen = self.0.lock().map_err(|_| "replay table poisoned")?;
        if seen.heads.len() >= seen.prune_at.max(PRUNE_FROM) {
            seen.heads
                .retain(|_, t| t.saturating_add(MAX_CLOCK_SKEW_MS) >= now);
            seen.prune_at = 2 * seen.heads.len();
        }
        if seen.heads.len() >= MAX_REMEMBERED_HEADS {
            return Err("too many requests in the clock window");
        }
        match seen.heads.entry(signature) {
            std::collections::hash_map::Entry::Occupied(_) => Err("request replayed"),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(at);
                Ok(())
            }
        }
    }
}

#[derive(Clone)]
struct RpcState {
    node: Node,
    replication: Arc<Replication>,
    /// Heads of Raft's messages (appends, votes, snapshots, joins).
    seen: Arc<SeenHeads>,
    /// Heads of forwarded submissions, kept apart so that however many
    /// arrive, Raft's own messages never wait on or fill their table.
    seen_forwards: Arc<SeenHeads>,
}

/// The `/raft/*` routes, each with its OpenAPI description.
fn documented() -> OpenApiRouter<RpcState> {
    OpenApiRouter::new()
        .routes(routes!(append))
        .routes(routes!(vote))
        .routes(routes!(snapshot))
        .routes(routes!(join))
        .routes(routes!(forward))
}

/// The OpenAPI description of the `/raft/*` routes.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    documented().into_openapi()
}

/// The `/raft/*` routes.
pub fn routes(node: Node, replication: Arc<Replication>) -> Router {
    let (router, _) = documented().split_for_parts();
    router.with_state(RpcState {
        node,
        replication,
        seen: Arc::default(),
        seen_forwards: Arc::default(),
    })
}

/// A node-to-node request as it arrives: its body, and the partner the
/// connection's client certificate is bound to (with TLS).
pub(crate) struct Arriving {
    body: Body,
    partner: Option<ConnectionPartner>,
}

impl<S: Send + Sync> FromRequest<S> for Arriving {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let partner = request.extensions().get::<ConnectionPartner>().copied();
        Ok(Arriving {
            body: request.into_body(),
            partner,
        })
    }
}

/// An authenticated request, its body checked against its head.
struct Received {
    sender: coalition_core::keys::LoyaltyId,
    /// For the answer to bind.
    signature: [u8; 64],
    body: Vec<u8>,
}

/// Appends chunks of `stream` to `buf` until it holds at least `target`
/// bytes or the stream ends.
async fn fill(
    stream: &mut axum::body::BodyDataStream,
    buf: &mut Vec<u8>,
    target: usize,
) -> Result<(), Response> {
    while buf.len() < target {
        match stream.next().await {
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            Some(Err(e)) => {
                return Err(refusal(StatusCode::BAD_REQUEST, "malformed", e.to_string()))
            }
            None => break,
        }
    }
    Ok(())
}

fn refusal(status: StatusCode, code: &str, reason: String) -> Response {
    (status, Json(ErrorBody::new(code, reason))).into_response()
}

impl RpcState {
    fn reject(&self, status: StatusCode, code: &str, reason: String) -> Response {
        self.replication
            .counters
            .messages_rejected
            .fetch_add(1, Ordering::Relaxed);
        refusal(status, code, reason)
    }

    fn refuse_envelope(&self, e: EnvelopeError) -> Response {
        let status = match e {
            EnvelopeError::Malformed | EnvelopeError::BodyMismatch => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        };
        self.reject(status, "unauthenticated", e.to_string())
    }

    /// Reads a request addressed to `recipient` on `route` from the
    /// connection: its head first, authenticated (and checked never to
    /// have been used before) before anything more is read; then its body,
    /// up to the signed length (at most [`MAX_MESSAGE_BYTES`], or
    /// [`MAX_SMALL_MESSAGE_BYTES`] for votes and joins) and checked against
    /// the signed hash, within [`READ_TIMEOUT`].
    async fn read(
        &self,
        route: &str,
        recipient: u64,
        body: Arriving,
    ) -> Result<Received, Response> {
        let max = match route {
            ROUTE_VOTE | ROUTE_JOIN => MAX_SMALL_MESSAGE_BYTES,
            _ => MAX_MESSAGE_BYTES,
        };
        let (received, ()) = self
            .read_admitted(route, recipient, body, max, READ_TIMEOUT, |_| Ok(()))
            .await?;
        Ok(received)
    }

    /// [`Self::read`] with the body bounded at `max` bytes and `within`,
    /// and `admit` asked, once the head is authenticated (it is given the
    /// sender) and before the
    /// body is read, whether this node takes the request at all (what it
    /// returns is held while the body arrives).
    async fn read_admitted<G>(
        &self,
        route: &str,
        recipient: u64,
        body: Arriving,
        max: usize,
        within: Duration,
        admit: impl FnOnce(&LoyaltyId) -> Result<G, Response>,
    ) -> Result<(Received, G), Response> {
        let read = self.read_within(route, recipient, body, max, admit);
        match tokio::time::timeout(within, read).await {
            Ok(read) => read,
            Err(_) => Err(self.reject(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "the request did not arrive within {} ms",
                    within.as_millis()
                ),
            )),
        }
    }

    async fn read_within<G>(
        &self,
        route: &str,
        recipient: u64,
        body: Arriving,
        max: usize,
        admit: impl FnOnce(&LoyaltyId) -> Result<G, Response>,
    ) -> Result<(Received, G), Response> {
        let Arriving { body, partner } = body;
        // With TLS, a partner's node speaks on a connection whose client
        // certificate its partner bound to itself; the envelope's signer
        // must be that partner (spec §17.6).
        let bound = match (self.node.config().tls.is_some(), partner) {
            (false, _) => None,
            (true, Some(ConnectionPartner(bound))) => Some(bound),
            (true, None) => {
                return Err(self.reject(
                    StatusCode::FORBIDDEN,
                    "unauthenticated",
                    "node-to-node requests need a client certificate bound to a partner".into(),
                ))
            }
        };
        let mut stream = body.into_data_stream();
        let mut received = Vec::with_capacity(REQUEST_HEAD);
        fill(&mut stream, &mut received, REQUEST_HEAD).await?;
        let chain = self.replication.chain;
        let now = now_ms();
        // A forwarded submission must come from a member now: a partner
        // removed by governance loses its partner's share at once,
        // not when its node leaves the Raft membership.
        let head = open_request_head(&received, &chain, route, recipient, now, |id| {
            if route == ROUTE_FORWARD {
                committed_member(&self.node, id)
            } else {
                known_sender(&self.node, &self.replication.raft, id)
            }
        })
        .map_err(|e| self.refuse_envelope(e))?;
        if let Some(bound) = bound {
            if bound.loyalty_id() != head.sender {
                return Err(self.reject(
                    StatusCode::FORBIDDEN,
                    "unauthenticated",
                    format!(
                        "the connection's certificate is bound to {}, the envelope is signed by {}",
                        bound.loyalty_id(),
                        head.sender
                    ),
                ));
            }
        }
        if head.body_len > max as u64 {
            return Err(self.reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("{route} messages are bounded at {max} bytes"),
            ));
        }
        let seen = if route == ROUTE_FORWARD {
            &self.seen_forwards
        } else {
            &self.seen
        };
        if let Err(why) = seen.first_use(head.signature, head.timestamp_ms, now) {
            return Err(self.reject(StatusCode::FORBIDDEN, "unauthenticated", why.into()));
        }
        let admitted = admit(&head.sender)?;
        // The length is the member's signed word; the body is still held
        // to it byte by byte (one byte past it is enough to tell a longer
        // body), and memory follows the bytes that arrive.
        let len = head.body_len as usize;
        let mut body = Vec::with_capacity(len.min(1 << 20));
        body.extend_from_slice(&received[REQUEST_HEAD..]);
        drop(received);
        fill(&mut stream, &mut body, len + 1).await?;
        let opened = head.open_body(&body).map_err(|e| self.refuse_envelope(e))?;
        let (sender, signature) = (opened.sender, opened.signature);
        Ok((
            Received {
                sender,
                signature,
                body,
            },
            admitted,
        ))
    }

    /// The Raft ID a message claims (its vote's candidate or leader) must
    /// be the signer's own, and — once this node knows a membership — a
    /// voter: no member can speak for another node, and no non-voter can
    /// lead or campaign.
    fn check_claim(
        &self,
        sender: &coalition_core::keys::LoyaltyId,
        claimed: Option<u64>,
    ) -> Result<(), Response> {
        let own = node_id(sender);
        let refuse = |reason: String| self.reject(StatusCode::FORBIDDEN, "unauthenticated", reason);
        if claimed != Some(own) {
            return Err(refuse(format!(
                "the message speaks for node {claimed:?}, its signer's node is {own}"
            )));
        }
        let metrics = self.replication.raft.metrics();
        let metrics = metrics.borrow();
        let membership = metrics.membership_config.membership();
        let knows_membership = membership.nodes().next().is_some();
        if knows_membership && !membership.voter_ids().any(|v| v == own) {
            return Err(refuse(format!("node {own} is not a voter")));
        }
        Ok(())
    }

    fn answer<T: Serialize>(
        &self,
        route: &str,
        request_signature: &[u8; 64],
        value: &T,
    ) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => seal_response(
                &self.replication.keys,
                &self.replication.chain,
                route,
                request_signature,
                &body,
            )
            .into_response(),
            Err(e) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
        }
    }
}

fn malformed(e: serde_json::Error) -> Response {
    refusal(StatusCode::BAD_REQUEST, "malformed", e.to_string())
}

impl RpcState {
    /// Reads and opens a Raft RPC addressed to this node, parses its
    /// payload and checks the Raft ID it speaks for (`claimed`) is its
    /// signer's.
    async fn receive<T: serde::de::DeserializeOwned>(
        &self,
        route: &str,
        body: Arriving,
        claimed: impl FnOnce(&T) -> Option<u64>,
    ) -> Result<([u8; 64], T), Response> {
        let received = self.read(route, self.replication.id, body).await?;
        let rpc: T = serde_json::from_slice(&received.body).map_err(malformed)?;
        self.check_claim(&received.sender, claimed(&rpc))?;
        Ok((received.signature, rpc))
    }
}

/// AppendEntries (spec §20.3). The body is a signed envelope from a current
/// member's node (CRQ2: its head, which signs the body's length and hash,
/// is authenticated before the body is read); the answer is signed by this
/// node's partner (CRS1). Served only on replicating nodes.
#[utoipa::path(post, path = "/raft/append", tag = "raft",
    request_body(content = String, content_type = "application/octet-stream", description = "Signed envelope"),
    responses(
        (status = 200, description = "Signed answer", content_type = "application/octet-stream"),
        (status = 400, description = "`malformed` envelope or payload", body = ErrorBody),
        (status = 403, description = "`unauthenticated`: not a member, bad signature, wrong recipient, replayed or stale", body = ErrorBody)))]
async fn append(State(s): State<RpcState>, body: Arriving) -> Response {
    let (signature, rpc) = match s
        .receive(
            ROUTE_APPEND,
            body,
            |r: &AppendEntriesRequest<TypeConfig>| r.vote.leader_id().voted_for(),
        )
        .await
    {
        Ok(received) => received,
        Err(r) => return r,
    };
    let result = s.replication.raft.append_entries(rpc).await;
    s.answer(ROUTE_APPEND, &signature, &result)
}

/// RequestVote (spec §20.3), in a signed envelope like `/raft/append`.
#[utoipa::path(post, path = "/raft/vote", tag = "raft",
    request_body(content = String, content_type = "application/octet-stream", description = "Signed envelope"),
    responses(
        (status = 200, description = "Signed answer", content_type = "application/octet-stream"),
        (status = 400, description = "`malformed` envelope or payload", body = ErrorBody),
        (status = 403, description = "`unauthenticated`", body = ErrorBody)))]
async fn vote(State(s): State<RpcState>, body: Arriving) -> Response {
    let (signature, rpc) = match s
        .receive(ROUTE_VOTE, body, |r: &VoteRequest<u64>| {
            r.vote.leader_id().voted_for()
        })
        .await
    {
        Ok(received) => received,
        Err(r) => return r,
    };
    let result = s.replication.raft.vote(rpc).await;
    s.answer(ROUTE_VOTE, &signature, &result)
}

/// InstallSnapshot (spec §20.3), in a signed envelope; snapshots are
/// bounded in size.
#[utoipa::path(post, path = "/raft/snapshot", tag = "raft",
    request_body(content = String, content_type = "application/octet-stream", description = "Signed envelope"),
    responses(
        (status = 200, description = "Signed answer", content_type = "application/octet-stream"),
        (status = 400, description = "`malformed` envelope or payload", body = ErrorBody),
        (status = 403, description = "`unauthenticated`", body = ErrorBody),
        (status = 413, description = "`too_large`: past the snapshot bound", body = ErrorBody)))]
async fn snapshot(State(s): State<RpcState>, body: Arriving) -> Response {
    let (signature, rpc) = match s
        .receive(
            ROUTE_SNAPSHOT,
            body,
            |r: &InstallSnapshotRequest<TypeConfig>| r.vote.leader_id().voted_for(),
        )
        .await
    {
        Ok(received) => received,
        Err(r) => return r,
    };
    if rpc.offset.saturating_add(rpc.data.len() as u64) > MAX_SNAPSHOT_BYTES {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("snapshots are bounded at {MAX_SNAPSHOT_BYTES} bytes"),
        );
    }
    let result = s.replication.raft.install_snapshot(rpc).await;
    s.answer(ROUTE_SNAPSHOT, &signature, &result)
}

/// A submission a member's node forwards (§20.5): its head is
/// authenticated first, then it takes a place among the submissions in
/// flight — counted against the node-wide bound and the partner's own
/// share, not a client's (the forwarding node bounded its own clients,
/// §17.4) — and only then is its body (the
/// nonce and the transaction, at most `max_body_bytes` of it) read, within
/// `body_timeout_ms`.
/// It is admitted here only while this node leads; it is never forwarded
/// again. The answer, whatever it is, is the one a client would get,
/// signed for the request.
#[utoipa::path(post, path = "/raft/forward", tag = "raft",
    request_body(content = String, content_type = "application/octet-stream", description = "Signed envelope: a nonce, then the transaction"),
    responses(
        (status = 200, description = "Signed answer: the status and body a client would get", content_type = "application/octet-stream"),
        (status = 400, description = "`malformed` envelope", body = ErrorBody),
        (status = 403, description = "`unauthenticated`", body = ErrorBody),
        (status = 429, description = "`busy`: no place for the partner's forwards", body = ErrorBody)))]
async fn forward(State(s): State<RpcState>, body: Arriving) -> Response {
    let config = s.node.config();
    let gate = s.node.submission_gate();
    let admit = |partner: &LoyaltyId| {
        gate.enter(Submitter::PartnerNode(*partner)).map_err(|why| {
            s.node.metrics().count_busy_submission();
            refusal(StatusCode::TOO_MANY_REQUESTS, "busy", why.to_string())
        })
    };
    let (received, pass) = match s
        .read_admitted(
            ROUTE_FORWARD,
            s.replication.id,
            body,
            config.max_body_bytes + FORWARD_NONCE_BYTES,
            Duration::from_millis(config.submissions.body_timeout_ms),
            admit,
        )
        .await
    {
        Ok(read) => read,
        Err(r) => return r,
    };
    let answer = match s.replication.route_submission(true).await {
        SubmissionRoute::Here if received.body.len() >= FORWARD_NONCE_BYTES => {
            // The nonce off, the bytes are the transaction (no copy).
            let mut transaction = received.body;
            transaction.drain(..FORWARD_NONCE_BYTES);
            submission::admit(s.node.clone(), transaction, pass).await
        }
        SubmissionRoute::Here => Err(ApiError::bad_request("a forward starts with its nonce")),
        SubmissionRoute::Forward(_) | SubmissionRoute::NoLeader => Err(ApiError::no_leader(
            "forwarded to a node that does not lead (leadership is changing); retry",
        )),
    };
    // Plain structs of strings and numbers: serialising them cannot fail.
    let (status, answer) = match answer {
        Ok(submitted) => (
            StatusCode::ACCEPTED,
            serde_json::to_value(submitted).unwrap_or_default(),
        ),
        Err(e) => {
            let (status, body) = e.into_parts();
            (status, serde_json::to_value(body).unwrap_or_default())
        }
    };
    s.answer(
        ROUTE_FORWARD,
        &received.signature,
        &ForwardedAnswer {
            status: status.as_u16(),
            answer,
        },
    )
}

/// A member's node asks to be added: the leader adds it as a learner (the
/// membership follower promotes it to voter once it has caught up); a
/// node that does not lead answers 503 naming the leader it knows.
#[utoipa::path(post, path = "/raft/join", tag = "raft",
    request_body(content = JoinRequest, content_type = "application/octet-stream", description = "Signed envelope whose payload is this JSON"),
    responses(
        (status = 200, description = "Already in the membership", body = JoinAnswer),
        (status = 202, description = "Added as a learner", body = JoinAnswer),
        (status = 400, description = "`malformed` envelope or address", body = ErrorBody),
        (status = 403, description = "`unauthenticated`: only a member's node may join", body = ErrorBody),
        (status = 503, description = "`not_leader`: names the leader this node knows", body = NotLeader)))]
async fn join(State(s): State<RpcState>, body: Arriving) -> Response {
    // Addressed to any node (recipient 0).
    let opened = match s.read(ROUTE_JOIN, 0, body).await {
        Ok(received) => received,
        Err(r) => return r,
    };
    let request: JoinRequest = match serde_json::from_slice(&opened.body) {
        Ok(r) => r,
        Err(e) => return malformed(e),
    };
    if !s.replication.is_leader() {
        // Name the leader: the joiner's configured peers may not include
        // it (a partner admitted after them may lead now).
        let leader = s.replication.other_leader().map(|l| l.peer.addr);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(NotLeader {
                error: "not_leader".into(),
                reason: "ask the leader".into(),
                leader,
            }),
        )
            .into_response();
    }
    let id = node_id(&opened.sender);
    let known = s
        .replication
        .raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .get_node(&id)
        .is_some();
    if known {
        return (
            StatusCode::OK,
            Json(JoinAnswer {
                status: JoinState::Member,
            }),
        )
            .into_response();
    }
    let Some(identity) = committed_member(&s.node, &opened.sender) else {
        return refusal(
            StatusCode::FORBIDDEN,
            "unauthenticated",
            "only a member's node may join".into(),
        );
    };
    let Ok(addr) = request.addr.parse::<std::net::SocketAddr>() else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "malformed",
            "join address is not host:port".into(),
        );
    };
    let peer = PeerNode::new(&identity, addr);
    let raft = s.replication.raft.clone();
    tokio::spawn(async move {
        if let Err(e) = raft.add_learner(id, peer, false).await {
            tracing::error!(error = %e, learner = id, "adding a learner failed");
        }
    });
    (
        StatusCode::ACCEPTED,
        Json(JoinAnswer {
            status: JoinState::Learner,
        }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_opens_once_within_the_window_and_old_ones_are_forgotten() {
        let seen = SeenHeads::default();
        let now = 1_800_000_000_000u64;
        assert_eq!(seen.first_use([1; 64], now, now), Ok(()));
        assert_eq!(
            seen.first_use([1; 64], now, now + 5),
            Err("request replayed")
        );
        assert_eq!(seen.first_use([2; 64], now, now), Ok(()));
        let head = |i: u32, tag: u8| {
            let mut sig = [0u8; 64];
            sig[..4].copy_from_slice(&i.to_le_bytes());
            sig[63] = tag;
            sig
        };
        // 5000 heads from long ago, received long ago: the pruning at
        // 4096 heads finds them all in their window and keeps them, and
        // the next is due at twice that.
        let then = now - 10 * MAX_CLOCK_SKEW_MS;
        for i in 0..5000u32 {
            seen.first_use(head(i, 9), then, then).unwrap();
        }
        assert_eq!(seen.0.lock().unwrap().prune_at, 2 * PRUNE_FROM);
        // Recent heads up to that mark: the next insertion drops every
        // head that has left the window, and the recent ones stay.
        for i in 0..(2 * PRUNE_FROM - 5002) as u32 {
            seen.first_use(head(i, 1), now, now).unwrap();
        }
        assert_eq!(seen.0.lock().unwrap().heads.len(), 2 * PRUNE_FROM);
        assert_eq!(seen.first_use([3; 64], now, now), Ok(()));
        let recent = 2 + (2 * PRUNE_FROM - 5002) + 1;
        assert_eq!(seen.0.lock().unwrap().heads.len(), recent);
        assert_eq!(seen.0.lock().unwrap().prune_at, 2 * (recent - 1));
        assert_eq!(
            seen.first_use(head(7, 1), now, now),
            Err("request replayed")
        );
        assert_eq!(seen.first_use([1; 64], now, now), Err("request replayed"));
    }
}
