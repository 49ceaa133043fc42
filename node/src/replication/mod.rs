//! Replication across partner nodes (spec §20).
//!
//! The partners' nodes agree on one chain with **openraft** (Raft, crash
//! fault tolerant): the leader proposes each block as one log entry, Raft
//! orders and replicates the entries, and every node's state machine
//! applies a committed entry by **re-validating the whole block** — every
//! signature and proof, the header's place after the tip and its
//! commitments to the resulting state — exactly as a single node or an
//! auditor would ([`coalition_ledger::chain::Chain`]). A block that fails is refused
//! by every replica alike (they hold the same state), so it becomes a no-op
//! in the log: a faulty leader can delay the ledger, not forge it.
//!
//! * [`log_store`]: Raft's log, vote and purge marks in RocksDB column
//!   families of the node's own database.
//! * [`state_machine`]: applies entries to the node's chain and builds and
//!   installs snapshots (the committed blocks, re-validated on install);
//!   [`snapshot`]: their format and files (never held whole in memory).
//! * [`envelope`]: every message signed by the sending partner's identity
//!   key; non-members are refused.
//! * [`network`]: the Raft client (signed requests over HTTP on tokio) and
//!   [`rpc`]: the receiving routes.
//! * This module: start-up, the leader's block proposer, membership that
//!   follows governance (admission → learner → voter; removal → out) and
//!   submissions forwarded to the leader.

// openraft's trait methods return its `StorageError` (and the RPC routes
// an HTTP response) by value; the helpers here return the same types.
#![allow(clippy::result_large_err)]

pub mod envelope;
pub mod log_store;
pub mod network;
pub mod rpc;
pub mod snapshot;
pub mod state_machine;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coalition_api::replication::{RaftState, Replica, ReplicationState};
use coalition_core::keys::{IdentityKeys, LoyaltyId, PublicIdentity};
use coalition_core::transaction::ChainId;
use openraft::{ChangeMembers, ServerState, SnapshotPolicy};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use coalition_core::encoding::Encode;

use crate::config::ReplicationSection;
use crate::engine::Node;
use crate::tls::{NodeCertificate, PartnerDialer};
use coalition_ledger::block::Block;

/// What the Raft log orders: a block proposed by the leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Proposal {
    /// A block's encoding (hex on the wire and in the log).
    Block(#[serde(with = "hex_bytes")] Vec<u8>),
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proposal::Block(bytes) => write!(f, "block ({} bytes)", bytes.len()),
        }
    }
}

/// What applying an entry did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// Nothing to apply (a blank or membership entry).
    Nothing,
    /// The block became the tip at this height.
    Block(u64),
    /// Every replica refused the block; why.
    Refused(String),
}

/// A replica's address, and whose node it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerNode {
    /// The partner's loyalty ID (hex).
    pub member: String,
    /// The partner's public identity (hex of its encoding): verifies the
    /// node's messages while it is in the Raft membership, even before this
    /// node applied its admission or after governance removed it (until
    /// the membership change that removes the node commits).
    pub identity: String,
    /// Its node's HTTP address.
    pub addr: String,
}

impl PeerNode {
    /// The node of partner `identity`, reachable at `addr`.
    pub fn new(identity: &PublicIdentity, addr: SocketAddr) -> Self {
        PeerNode {
            member: hex::encode(identity.loyalty_id().0),
            identity: hex::encode(identity.to_bytes()),
            addr: addr.to_string(),
        }
    }

    /// The identity recorded for this node, if it decodes and matches the
    /// recorded loyalty ID.
    pub fn public_identity(&self) -> Option<PublicIdentity> {
        let bytes = hex::decode(&self.identity).ok()?;
        let identity: PublicIdentity = coalition_core::encoding::decode_exact(&bytes).ok()?;
        (hex::encode(identity.loyalty_id().0) == self.member).then_some(identity)
    }
}

impl fmt::Display for PeerNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short: String = self.member.chars().take(16).collect();
        write!(f, "{short}@{}", self.addr)
    }
}

openraft::declare_raft_types!(
    /// Coalition's Raft types.
    pub TypeConfig:
        D = Proposal,
        R = Applied,
        NodeId = u64,
        Node = PeerNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;

type RaftMetrics = openraft::RaftMetrics<u64, PeerNode>;

/// The Raft node ID of a partner: the first 8 bytes (big-endian) of
/// `SHA-256("coalition/raft-node-id/v1" ‖ loyalty ID)`.
pub fn node_id(member: &LoyaltyId) -> u64 {
    let mut h = Sha256::new();
    h.update(b"coalition/raft-node-id/v1");
    h.update(member.0);
    let d: [u8; 32] = h.finalize().into();
    let mut id = [0u8; 8];
    id.copy_from_slice(&d[..8]);
    u64::from_be_bytes(id)
}

/// Why replication could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    /// The replication section is unusable.
    #[error("replication: {0}")]
    Config(String),
    /// openraft refused to start.
    #[error("replication: raft: {0}")]
    Raft(String),
}

/// A running replica: the Raft handle and who this node is.
pub struct Replication {
    raft: Raft,
    id: u64,
    keys: Arc<IdentityKeys>,
    chain: ChainId,
    /// How this node dials its partners' nodes, with `[tls]`.
    tls: Option<Arc<PartnerDialer>>,
    advertise: SocketAddr,
    peers: Vec<SocketAddr>,
    counters: Arc<Counters>,
    /// How long a submission waits for a leader to be known (§20.5).
    leader_wait: Duration,
    /// A leader whose last quorum acknowledgement is older than this (the
    /// longest election timeout) may have been replaced: it does not lead.
    max_ack_age_ms: u64,
    /// The term in which this node, leading, last confirmed with a quorum
    /// that it leads and applied everything committed before (§20.5).
    confirmed_term: AtomicU64,
}

/// Where a submission goes (spec §20.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmissionRoute {
    /// This node leads, confirmed by a quorum in its term: admit here.
    Here,
    /// Another node leads: forward to it.
    Forward(Leader),
    /// No leader became known within the wait: the client retries.
    NoLeader,
}

/// The longest a submission waits for a leader before `503 no_leader`.
const MAX_LEADER_WAIT: Duration = Duration::from_secs(10);

/// What the replication layer counts (served in `/v1/replication`).
#[derive(Default, Debug)]
pub struct Counters {
    /// Node-to-node messages refused (bad envelope or non-member).
    pub messages_rejected: AtomicU64,
    /// Snapshots installed since start.
    pub snapshots_installed: AtomicU64,
    /// Proposed blocks every replica refused.
    pub blocks_refused: AtomicU64,
}

/// Whether the metrics say node `id` leads: a quorum acknowledged it in
/// its term, at most `max_ack_age_ms` ago (a leader cut off from the
/// majority stops leading when that ages), and it has applied an entry of
/// its own term. A leader restored at start-up has no acknowledgement
/// yet; a new one has applied its predecessors' entries once its first
/// (Raft's blank entry) is applied. What a restored leader may have
/// committed but not applied before it stopped is covered by the one
/// confirmation per term that [`Replication::route_submission`] asks for.
fn leads(m: &RaftMetrics, id: u64, max_ack_age_ms: u64) -> bool {
    m.current_leader == Some(id)
        && m.state == ServerState::Leader
        && m.millis_since_quorum_ack
            .is_some_and(|age| age <= max_ack_age_ms)
        && m.last_applied
            .is_some_and(|applied| applied.leader_id.term == m.current_term)
}

/// Another node that leads, as this node's Raft metrics name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leader {
    /// Its Raft ID (the recipient a forwarded submission is signed for).
    pub id: u64,
    /// Its partner and address.
    pub peer: PeerNode,
}

/// The leader the metrics name, unless it is `id`.
fn other_leader(m: &RaftMetrics, id: u64) -> Option<Leader> {
    let leader = m.current_leader.filter(|leader| *leader != id)?;
    m.membership_config
        .membership()
        .get_node(&leader)
        .map(|peer| Leader {
            id: leader,
            peer: peer.clone(),
        })
}

/// The identity governance records for `id`, if it is a member now.
pub(crate) fn committed_member(node: &Node, id: &LoyaltyId) -> Option<PublicIdentity> {
    node.with_ledger(|l| l.governance().members().get(id).map(|m| m.identity))
}

/// The identity of `id` if it is a member in this node's committed
/// governance **or** its node is in this node's Raft membership (which a
/// leader only extends to members, §20.5).
pub(crate) fn known_sender(node: &Node, raft: &Raft, id: &LoyaltyId) -> Option<PublicIdentity> {
    committed_member(node, id).or_else(|| {
        let member = hex::encode(id.0);
        let receiver = raft.metrics();
        let metrics = receiver.borrow();
        let found = metrics
            .membership_config
            .membership()
            .nodes()
            .find(|(_, peer)| peer.member == member)
            .and_then(|(_, peer)| peer.public_identity());
        found
    })
}

impl Replication {
    /// Starts Raft on `node` as the partner `keys`, reachable at
    /// `advertise`, dialling its partners' nodes over mutual TLS with `tls`
    /// (the node's certificate, which must be bound to `keys`) when given;
    /// founders initialise the cluster from the peers named in `settings`,
    /// others ask to join. Spawns the proposer, the membership follower and
    /// (until admitted) the join requests.
    pub async fn start(
        node: Node,
        keys: IdentityKeys,
        settings: &ReplicationSection,
        advertise: SocketAddr,
        tls: Option<NodeCertificate>,
    ) -> Result<Arc<Replication>, ReplicationError> {
        let me = keys.loyalty_id();
        let id = node_id(&me);
        if advertise.ip().is_unspecified() {
            return Err(ReplicationError::Config(format!(
                "the node listens on {advertise}: set [replication] advertise to the address \
                 the other nodes reach it at"
            )));
        }
        let chain = node.genesis().chain_id();
        let config = openraft::Config {
            cluster_name: format!("coalition-{}", hex::encode(&chain.0[..8])),
            heartbeat_interval: settings.heartbeat_ms,
            election_timeout_min: settings.election_timeout_ms[0],
            election_timeout_max: settings.election_timeout_ms[1],
            install_snapshot_timeout: 120_000,
            // A block may take up to ~130 MiB as hex; four stay under the
            // node-to-node message bound, and a receiver's 413 makes the
            // leader send one at a time.
            max_payload_entries: 4,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(settings.snapshot_after_entries),
            max_in_snapshot_log_to_keep: settings.keep_entries_after_snapshot,
            ..Default::default()
        }
        .validate()
        .map_err(|e| ReplicationError::Config(e.to_string()))?;
        let tls = match tls {
            None => None,
            Some(own) if own.identity.loyalty_id() != me => {
                return Err(ReplicationError::Config(format!(
                    "[tls] certificate is bound to {}, but the node speaks for {me}",
                    own.identity.loyalty_id()
                )))
            }
            Some(own) => Some(PartnerDialer::new(own)),
        };
        let keys = Arc::new(keys);
        let counters = Arc::new(Counters::default());
        let log_store = log_store::LogStore::new(node.clone());
        let state_machine = state_machine::StateMachine::open(node.clone(), counters.clone())
            .map_err(|e| ReplicationError::Raft(e.to_string()))?;
        let network = network::Network::new(
            node.clone(),
            keys.clone(),
            chain,
            counters.clone(),
            tls.clone(),
        );
        let raft = Raft::new(id, Arc::new(config), network, log_store, state_machine)
            .await
            .map_err(|e| ReplicationError::Raft(e.to_string()))?;

        // The founders' nodes form the first membership. Only the founder
        // whose node ID is lowest writes it (openraft accepts `initialize`
        // on any node with an empty log, so two founders with differing
        // peer lists would otherwise start from different entries).
        let founders = node.genesis().founders.clone();
        let first = founders
            .iter()
            .map(|(_, identity)| node_id(&identity.loyalty_id()))
            .min();
        if first == Some(id) {
            let mut initial = BTreeMap::new();
            for (name, identity) in &founders {
                let member = identity.loyalty_id();
                let addr = if member == me {
                    advertise
                } else {
                    settings
                        .peers
                        .iter()
                        .find(|p| &p.name == name)
                        .map(|p| p.addr)
                        .ok_or_else(|| {
                            ReplicationError::Config(format!(
                                "founder {name:?} has no [[replication.peers]] entry"
                            ))
                        })?
                };
                initial.insert(node_id(&member), PeerNode::new(identity, addr));
            }
            let initialized = raft
                .is_initialized()
                .await
                .map_err(|e| ReplicationError::Raft(e.to_string()))?;
            if !initialized {
                raft.initialize(initial)
                    .await
                    .map_err(|e| ReplicationError::Raft(e.to_string()))?;
            }
        }
        let replication = Arc::new(Replication {
            raft,
            id,
            keys,
            chain,
            tls,
            advertise,
            peers: settings.peers.iter().map(|p| p.addr).collect(),
            counters,
            // Long enough for one election to finish.
            leader_wait: Duration::from_millis(2 * settings.election_timeout_ms[1])
                .min(MAX_LEADER_WAIT),
            max_ack_age_ms: settings.election_timeout_ms[1],
            confirmed_term: AtomicU64::new(0),
        });
        tokio::spawn(propose_blocks(node.clone(), replication.clone()));
        tokio::spawn(follow_governance(node.clone(), replication.clone()));
        // Founders are in the first membership; other partners ask to join.
        let founder = founders
            .iter()
            .any(|(_, identity)| identity.loyalty_id() == me);
        if !founder {
            tokio::spawn(join_when_admitted(replication.clone()));
        }
        Ok(replication)
    }

    /// The Raft handle.
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// This node's Raft ID.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// What this layer counted.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether this node leads now, confirmed by a quorum in its term and
    /// caught up with it.
    ///
    /// openraft restores a node that led when it stopped as leader of its
    /// old term at once, and a newly elected leader may not yet have
    /// applied what earlier leaders committed; either would check
    /// submissions against a stale state, so neither admits submissions
    /// nor proposes blocks until then.
    pub fn is_leader(&self) -> bool {
        leads(&self.raft.metrics().borrow(), self.id, self.max_ack_age_ms)
    }

    /// The leader, if one is known and it is not this node.
    pub fn other_leader(&self) -> Option<Leader> {
        other_leader(&self.raft.metrics().borrow(), self.id)
    }

    /// Where a submission goes: here if this node leads, else to the
    /// leader. While neither is known (an election, or a node just
    /// restarted) it waits for the metrics to say, up to twice the longest
    /// election timeout. A `forwarded` submission is never forwarded
    /// again: it is admitted here once this node leads, refused at once
    /// if this node knows another leader, else refused after the wait.
    ///
    /// The first submission a leader admits in a term waits for Raft's
    /// linearizable-read check: a quorum confirms the lead and the state
    /// has applied everything committed until then.
    pub async fn route_submission(&self, forwarded: bool) -> SubmissionRoute {
        let deadline = tokio::time::Instant::now() + self.leader_wait;
        let mut metrics = self.raft.metrics();
        loop {
            let (leading, another, term) = {
                let m = metrics.borrow_and_update();
                (
                    leads(&m, self.id, self.max_ack_age_ms),
                    other_leader(&m, self.id),
                    m.current_term,
                )
            };
            if leading {
                if self.confirmed_term.load(Ordering::Acquire) == term {
                    return SubmissionRoute::Here;
                }
                match tokio::time::timeout_at(deadline, self.raft.ensure_linearizable()).await {
                    Ok(Ok(_)) => {
                        self.confirmed_term.fetch_max(term, Ordering::AcqRel);
                        return SubmissionRoute::Here;
                    }
                    // Not the leader after all: look again.
                    Ok(Err(_)) => {}
                    Err(_) => return SubmissionRoute::NoLeader,
                }
            } else if let Some(leader) = another {
                return if forwarded {
                    SubmissionRoute::NoLeader
                } else {
                    SubmissionRoute::Forward(leader)
                };
            }
            match tokio::time::timeout_at(deadline, metrics.changed()).await {
                Ok(Ok(())) => continue,
                // Timed out, or Raft shut down.
                _ => return SubmissionRoute::NoLeader,
            }
        }
    }

    /// Replication status, served at `/v1/replication`.
    pub fn status(&self) -> ReplicationState {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let nodes = |want_voter: bool| {
            membership
                .nodes()
                .filter(|(id, _)| voters.contains(id) == want_voter)
                .map(|(id, n)| Replica {
                    id: *id,
                    member: n.member.clone(),
                    addr: n.addr.clone(),
                })
                .collect::<Vec<_>>()
        };
        let state = match m.state {
            ServerState::Leader => RaftState::Leader,
            ServerState::Follower => RaftState::Follower,
            ServerState::Candidate => RaftState::Candidate,
            ServerState::Learner => RaftState::Learner,
            ServerState::Shutdown => RaftState::Shutdown,
        };
        ReplicationState {
            node_id: self.id,
            member: hex::encode(self.keys.loyalty_id().0),
            state,
            term: m.current_term,
            leader: m.current_leader,
            last_log_index: m.last_log_index,
            last_applied_index: m.last_applied.map(|l| l.index),
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
            voters: nodes(true),
            learners: nodes(false),
            snapshots_installed: self.counters.snapshots_installed.load(Ordering::Relaxed),
            messages_rejected: self.counters.messages_rejected.load(Ordering::Relaxed),
            blocks_refused: self.counters.blocks_refused.load(Ordering::Relaxed),
        }
    }
}

/// The leader's block proposer: every block interval, while this node
/// leads and its state has caught up with its log, it builds the next
/// block from its mempool (verifying once) and proposes it; Raft applies
/// it here and everywhere. One proposal at a time, so each extends the
/// tip the previous one made. A node that does not lead hands the
/// transactions still in its mempool to the leader.
async fn propose_blocks(node: Node, replication: Arc<Replication>) {
    let interval = Duration::from_millis(node.config().block_interval_ms);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if !replication.is_leader() {
            hand_over_mempool(&node, &replication).await;
            continue;
        }
        let caught_up = {
            let m = replication.raft.metrics();
            let m = m.borrow();
            m.last_applied.map(|l| l.index) == m.last_log_index
        };
        if !caught_up {
            continue;
        }
        let producer = node.clone();
        let prepared = tokio::task::spawn_blocking(move || producer.prepare_block()).await;
        let (block, next) = match prepared {
            Ok(Ok(Some(prepared))) => prepared,
            Ok(Ok(None)) => continue,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "block preparation failed");
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "block preparation task failed");
                continue;
            }
        };
        node.remember_prepared(block.header.hash(), next);
        match replication
            .raft
            .client_write(Proposal::Block(block.to_bytes()))
            .await
        {
            Ok(response) => {
                if let Applied::Refused(reason) = response.data {
                    tracing::warn!(height = block.header.height, %reason, "proposed block refused");
                }
            }
            Err(e) => tracing::error!(error = %e, "block proposal not committed"),
        }
    }
}

/// A node that lost (or never had) the lead passes what waits in its
/// mempool to the leader, forwarded like its clients' submissions (signed,
/// §20.5), so accepted transactions are not stranded.
async fn hand_over_mempool(node: &Node, replication: &Replication) {
    let Some(leader) = replication.other_leader() else {
        return;
    };
    let pending = node.take_pending();
    // After the first one not delivered, keep the rest untried: each try
    // could wait for a leader, and the proposer waits for this.
    let mut pending = pending.into_iter();
    let mut undelivered = Vec::new();
    for tx in pending.by_ref() {
        let sent = network::forward_submission(
            node,
            replication,
            &leader,
            &tx.to_bytes(),
            Duration::from_secs(30),
        )
        .await;
        match sent {
            // Admitted, or refused (invalid, duplicate, committed).
            Ok(answer) if answer.status < 500 && answer.status != 429 => {}
            // Bytes the leader will never take (over its body bound).
            Err(e) if e.is_final() => {}
            // Not delivered (busy, no leader, unreachable, an envelope
            // refused or an answer that does not open): keep it.
            _ => {
                undelivered.push(tx);
                break;
            }
        }
    }
    undelivered.extend(pending);
    if !undelivered.is_empty() {
        let node = node.clone();
        let _ = tokio::task::spawn_blocking(move || node.restore_pending(undelivered)).await;
    }
}

/// The leader keeps Raft's membership in step with governance: a learner
/// whose partner is a member and that has caught up becomes a voter; a
/// node whose partner is no longer a member is removed.
async fn follow_governance(node: Node, replication: Arc<Replication>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    loop {
        ticker.tick().await;
        if !replication.is_leader() {
            continue;
        }
        let members: BTreeSet<u64> = node.with_ledger(|l| {
            l.governance()
                .members()
                .keys()
                .map(node_id)
                .collect::<BTreeSet<u64>>()
        });
        let m = replication.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let all: BTreeSet<u64> = membership.nodes().map(|(id, _)| *id).collect();
        let last = m.last_log_index.unwrap_or(0);
        let caught_up = |id: &u64| {
            m.replication
                .as_ref()
                .and_then(|r| r.get(id).cloned().flatten())
                .is_some_and(|matched| matched.index + 32 >= last)
        };
        let remove_voters: BTreeSet<u64> = voters.difference(&members).copied().collect();
        let remove_nodes: BTreeSet<u64> = all
            .iter()
            .filter(|id| !voters.contains(id) && !members.contains(id))
            .copied()
            .collect();
        let promote: BTreeSet<u64> = all
            .iter()
            .filter(|id| !voters.contains(id) && members.contains(id) && caught_up(id))
            .copied()
            .collect();
        // One change per round, in this order: voters out, learners out,
        // learners in as voters (never removing the last voter).
        let (change, what) = if !remove_voters.is_empty() && remove_voters.len() < voters.len() {
            (
                ChangeMembers::RemoveVoters(remove_voters),
                "removing a former member's node",
            )
        } else if !remove_nodes.is_empty() {
            (
                ChangeMembers::RemoveNodes(remove_nodes),
                "removing a former member's learner",
            )
        } else if !promote.is_empty() {
            (ChangeMembers::AddVoterIds(promote), "promoting a learner")
        } else {
            continue;
        };
        if let Err(e) = replication.raft.change_membership(change, false).await {
            tracing::error!(error = %e, change = what, "a membership change failed");
        }
    }
}

/// Until this node belongs to the Raft membership, ask the configured
/// peers to add it (the leader does once governance admitted its partner).
async fn join_when_admitted(replication: Arc<Replication>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut reported = false;
    loop {
        ticker.tick().await;
        let known = {
            let m = replication.raft.metrics();
            let m = m.borrow();
            m.membership_config
                .membership()
                .get_node(&replication.id)
                .is_some()
        };
        if known {
            return;
        }
        // The configured peers, and any leader one of them names (each
        // address asked once a round).
        let mut refusals = Vec::new();
        let mut asked = BTreeSet::new();
        let mut targets: VecDeque<SocketAddr> = replication.peers.iter().copied().collect();
        while let Some(peer) = targets.pop_front() {
            if peer == replication.advertise || !asked.insert(peer) {
                continue;
            }
            match network::request_join(&replication, peer).await {
                Ok(()) => break,
                Err(refused) => {
                    refusals.push(format!("{peer}: {}", refused.reason));
                    if let Some(leader) = refused.leader {
                        targets.push_front(leader);
                    }
                }
            }
        }
        if !reported && !refusals.is_empty() {
            tracing::warn!(
                refusals = %refusals.join("; "),
                "not yet in the cluster; join requests refused"
            );
            reported = true;
        }
    }
}

/// Hex for byte fields inside JSON.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

/// Decodes a block from a log entry (bounded by the block decoder).
pub fn decode_proposal(proposal: &Proposal) -> Result<Block, String> {
    match proposal {
        Proposal::Block(bytes) => {
            coalition_ledger::block::decode_block(bytes).map_err(|e| e.to_string())
        }
    }
}
