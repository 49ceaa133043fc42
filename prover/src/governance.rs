//! Builders of governance transactions (spec §16): each is signed by the
//! member's identity key and carries its next governance nonce.

use coalition_core::currency::{CurrencyId, ExchangeRate, NoteLifetime};
use coalition_core::governance::{
    MembershipAction, ProposalId, ProposeMemberTx, RegisterCurrencyTx, VoteTx,
};
use coalition_core::keys::{ElGamalPublicKey, IdentityKeys};
use coalition_core::transaction::{ChainId, Transaction};

use crate::transactions::{placeholder_signature, sign};

/// `ProposeMember` by `proposer`.
pub fn propose_member(
    chain: ChainId,
    proposer: &IdentityKeys,
    nonce: u64,
    action: MembershipAction,
) -> Transaction {
    let tx = ProposeMemberTx {
        chain,
        proposer: proposer.loyalty_id(),
        nonce,
        action,
        signature: placeholder_signature(),
    };
    sign(proposer, Transaction::ProposeMember(tx))
}

/// `Vote` by `voter` on `proposal`.
pub fn vote(
    chain: ChainId,
    voter: &IdentityKeys,
    nonce: u64,
    proposal: ProposalId,
    approve: bool,
) -> Transaction {
    let tx = VoteTx {
        chain,
        voter: voter.loyalty_id(),
        nonce,
        proposal,
        approve,
        signature: placeholder_signature(),
    };
    sign(voter, Transaction::Vote(tx))
}

/// `RegisterCurrency` of a currency `issuer` issues.
#[allow(clippy::too_many_arguments)] // one per field of the transaction
pub fn register_currency(
    chain: ChainId,
    issuer: &IdentityKeys,
    nonce: u64,
    currency: CurrencyId,
    decimals: u8,
    auditor: Option<ElGamalPublicKey>,
    settlement_value: ExchangeRate,
    note_lifetime: NoteLifetime,
) -> Transaction {
    let tx = RegisterCurrencyTx {
        chain,
        issuer: issuer.loyalty_id(),
        nonce,
        currency,
        decimals,
        auditor,
        settlement_value,
        note_lifetime,
        signature: placeholder_signature(),
    };
    sign(issuer, Transaction::RegisterCurrency(tx))
}
