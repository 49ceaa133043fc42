//! `GET /v1/events[?account=ID]` (spec §17.5): a server-sent-event stream
//! of what blocks changed. Events carry only what the ledger already makes
//! public (identifiers, kinds, public values), never a confidential amount.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `GET /v1/events?account`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events that concern this loyalty ID (hex), and blocks.
    pub account: Option<String>,
}

/// How an account was credited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditVia {
    /// An issuer issued points.
    Issue,
    /// A transfer.
    Transfer,
    /// An exchange into this currency.
    Exchange,
    /// A shielded redemption at this merchant.
    Redeem,
}

/// How points were redeemed at a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionVia {
    /// A transfer (the amount encrypted).
    Transfer,
    /// The shielded pool (the value public).
    Redeem,
}

/// What changed in governance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GovernanceChange {
    /// A membership proposal was made.
    Proposed,
    /// A member voted.
    Voted,
    /// A member was admitted.
    Admitted,
    /// A member was removed.
    Removed,
    /// A currency was registered.
    CurrencyRegistered,
    /// Partnership terms were adopted.
    TermsAdopted,
}

/// One event; the SSE event name is [`Event::name`], the data this JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A block was committed.
    Block {
        /// Height.
        height: u64,
        /// Header hash (hex).
        hash: String,
        /// Transactions in it.
        transactions: u64,
        /// State hash after it (hex).
        state_hash: String,
    },
    /// An account's pending balance was credited.
    Credit {
        /// The account's loyalty ID (hex).
        account: String,
        /// Currency symbol.
        currency: String,
        /// How.
        via: CreditVia,
        /// Transaction ID (hex).
        tx: String,
        /// Height.
        height: u64,
    },
    /// Points were redeemed at a coalition member.
    Redemption {
        /// The merchant's loyalty ID (hex).
        merchant: String,
        /// Currency symbol.
        currency: String,
        /// How.
        via: RedemptionVia,
        /// The public value, for a shielded redemption.
        value: Option<u64>,
        /// Transaction ID (hex).
        tx: String,
        /// Height.
        height: u64,
    },
    /// Governance changed.
    Governance {
        /// What.
        change: GovernanceChange,
        /// The member, proposal, currency or partner set concerned.
        subject: String,
        /// Height.
        height: u64,
    },
    /// The subscriber fell too far behind and missed events: it re-reads
    /// state through the API instead of trusting a stream with a hole.
    Lagged {
        /// How many.
        missed: u64,
    },
}

impl Event {
    /// Whether the event concerns `account` (hex loyalty ID); blocks and
    /// lags concern everyone.
    pub fn concerns(&self, account: &str) -> bool {
        match self {
            Event::Credit { account: a, .. } => a == account,
            Event::Redemption { merchant, .. } => merchant == account,
            Event::Governance { subject, .. } => subject == account,
            Event::Block { .. } | Event::Lagged { .. } => true,
        }
    }

    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Block { .. } => "block",
            Event::Credit { .. } => "credit",
            Event::Redemption { .. } => "redemption",
            Event::Governance { .. } => "governance",
            Event::Lagged { .. } => "lagged",
        }
    }
}
