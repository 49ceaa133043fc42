//! The receiving side of node-to-node messages: `/raft/append`,
//! `/raft/vote`, `/raft/snapshot` and `/raft/join` (spec §20.3).
//!
//! Each request is opened with [`super::envelope::open_request`] against
//! this node's committed governance — a non-member, a bad signature, a
//! message for another node or one outside the clock window is refused
//! with 403 before Raft sees it — and each answer is signed by this node's
//! partner.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use serde::Serialize;
use serde_json::json;

use super::envelope::{open_request, seal_response, EnvelopeError, OpenedRequest};
use super::network::{JoinRequest, ROUTE_APPEND, ROUTE_JOIN, ROUTE_SNAPSHOT, ROUTE_VOTE};
use super::{committed_member, known_sender, node_id, PeerNode, Replication, TypeConfig};
use crate::service::{now_ms, Node};

/// Largest node-to-node message (a batch of entries or a snapshot chunk).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// Largest snapshot received (the chain's blocks; chunks past it are refused).
pub const MAX_SNAPSHOT_BYTES: u64 = 4 * 1024 * 1024 * 1024;

#[derive(Clone)]
struct RpcState {
    node: Node,
    replication: Arc<Replication>,
}

/// The `/raft/*` routes.
pub fn routes(node: Node, replication: Arc<Replication>) -> Router {
    Router::new()
        .route(ROUTE_APPEND, post(append))
        .route(ROUTE_VOTE, post(vote))
        .route(ROUTE_SNAPSHOT, post(snapshot))
        .route(ROUTE_JOIN, post(join))
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        .with_state(RpcState { node, replication })
}

fn refusal(status: StatusCode, code: &str, reason: String) -> Response {
    (status, Json(json!({ "error": code, "reason": reason }))).into_response()
}

impl RpcState {
    fn open<'a>(
        &self,
        route: &str,
        body: &'a [u8],
        recipient: u64,
    ) -> Result<OpenedRequest<'a>, Response> {
        let chain = self.replication.chain;
        open_request(body, &chain, route, recipient, now_ms(), |id| {
            known_sender(&self.node, &self.replication.raft, id)
        })
        .map_err(|e| {
            self.replication
                .counters
                .messages_rejected
                .fetch_add(1, Ordering::Relaxed);
            let status = match e {
                EnvelopeError::Malformed => StatusCode::BAD_REQUEST,
                _ => StatusCode::FORBIDDEN,
            };
            refusal(status, "unauthenticated", e.to_string())
        })
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
        let refuse = |reason: String| {
            self.replication
                .counters
                .messages_rejected
                .fetch_add(1, Ordering::Relaxed);
            refusal(StatusCode::FORBIDDEN, "unauthenticated", reason)
        };
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
        request: &OpenedRequest<'_>,
        value: &T,
    ) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => seal_response(
                &self.replication.keys,
                &self.replication.chain,
                route,
                &request.signature,
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
    /// Opens a Raft RPC addressed to this node, parses its payload and
    /// checks the Raft ID it speaks for (`claimed`) is its signer's.
    fn receive<'a, T: serde::de::DeserializeOwned>(
        &self,
        route: &str,
        body: &'a [u8],
        claimed: impl FnOnce(&T) -> Option<u64>,
    ) -> Result<(OpenedRequest<'a>, T), Response> {
        let opened = self.open(route, body, self.replication.id)?;
        let rpc: T = serde_json::from_slice(opened.body).map_err(malformed)?;
        self.check_claim(&opened.sender, claimed(&rpc))?;
        Ok((opened, rpc))
    }
}

async fn append(State(s): State<RpcState>, body: Bytes) -> Response {
    let (opened, rpc) = match s.receive(
        ROUTE_APPEND,
        &body,
        |r: &AppendEntriesRequest<TypeConfig>| r.vote.leader_id().voted_for(),
    ) {
        Ok(received) => received,
        Err(r) => return r,
    };
    let result = s.replication.raft.append_entries(rpc).await;
    s.answer(ROUTE_APPEND, &opened, &result)
}

async fn vote(State(s): State<RpcState>, body: Bytes) -> Response {
    let (opened, rpc) = match s.receive(ROUTE_VOTE, &body, |r: &VoteRequest<u64>| {
        r.vote.leader_id().voted_for()
    }) {
        Ok(received) => received,
        Err(r) => return r,
    };
    let result = s.replication.raft.vote(rpc).await;
    s.answer(ROUTE_VOTE, &opened, &result)
}

async fn snapshot(State(s): State<RpcState>, body: Bytes) -> Response {
    let (opened, rpc) = match s.receive(
        ROUTE_SNAPSHOT,
        &body,
        |r: &InstallSnapshotRequest<TypeConfig>| r.vote.leader_id().voted_for(),
    ) {
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
    s.answer(ROUTE_SNAPSHOT, &opened, &result)
}

/// A member's node asks to be added: the leader adds it as a learner (the
/// membership follower promotes it to voter once it has caught up).
async fn join(State(s): State<RpcState>, body: Bytes) -> Response {
    // Addressed to any node (recipient 0).
    let opened = match s.open(ROUTE_JOIN, &body, 0) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let request: JoinRequest = match serde_json::from_slice(opened.body) {
        Ok(r) => r,
        Err(e) => return malformed(e),
    };
    if !s.replication.is_leader() {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_leader",
            "ask the leader".into(),
        );
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
        return (StatusCode::OK, Json(json!({ "status": "member" }))).into_response();
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
            eprintln!("coalition node: adding learner {id} failed: {e}");
        }
    });
    (StatusCode::ACCEPTED, Json(json!({ "status": "learner" }))).into_response()
}
