//! Membership and proposals.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Rate;

/// A member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    /// Loyalty ID (hex).
    pub id: String,
    /// Name.
    pub name: String,
    /// Public identity (hex).
    pub identity: String,
    /// Height of admission.
    pub admitted_at: u64,
    /// Next governance nonce.
    pub nonce: u64,
}

/// What a proposal would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProposalAction {
    /// Admit a candidate.
    Admit,
    /// Remove a member.
    Remove,
}

/// Where a proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProposalState {
    /// Votes are counted.
    Open,
    /// Took effect.
    Accepted,
    /// Decided against, or expired.
    Rejected,
}

/// A membership proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Proposal {
    /// Proposal ID (hex).
    pub id: String,
    /// The proposing member (hex).
    pub proposer: String,
    /// Admit or remove.
    pub action: ProposalAction,
    /// The candidate or member concerned (hex loyalty ID).
    pub subject: String,
    /// The candidate's name (admissions).
    pub name: Option<String>,
    /// Height it was made at.
    pub opened_at: u64,
    /// Members voting yes (hex).
    pub yes: Vec<String>,
    /// Members voting no (hex).
    pub no: Vec<String>,
    /// Open, accepted or rejected.
    pub status: ProposalState,
    /// Height it was decided at.
    pub decided_at: Option<u64>,
}

/// `GET /v1/governance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Governance {
    /// The share of members a proposal needs, `[p, q]`.
    pub threshold: Rate,
    /// Members.
    pub members: Vec<Member>,
    /// Proposals, open and decided.
    pub proposals: Vec<Proposal>,
}
