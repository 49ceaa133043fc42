//! Governance transactions (spec §16): how partners run the coalition.
//!
//! ```text
//! ProposeMember (tag 8)    = chain ‖ proposer ‖ nonce ‖ action
//!   action                 = 0 ‖ candidate (PublicIdentity) ‖ name   (admit)
//!                          | 1 ‖ member (LoyaltyId)                 (remove)
//! Vote (tag 9)             = chain ‖ voter ‖ nonce ‖ proposal ‖ approve (u8 0/1)
//! RegisterCurrency (tag 10)= chain ‖ issuer ‖ nonce ‖ currency ‖ decimals (u8)
//!                          ‖ auditor? (flag ‖ key) ‖ settlement value (p/q)
//!                          ‖ note lifetime (u32 epochs, 0 = unlimited)
//! Terms (tag 11)           = signed partnership terms (crate::partnership)
//! ```
//!
//! Tags 8–10 are signed by one member (`proposer`, `voter`, `issuer`, all
//! loyalty IDs of current members) with the transaction signature of §8,
//! and carry that member's governance nonce so none can be replayed. A
//! proposal's ID is the ID of the transaction that made it. `Terms` carries
//! one signature per partner it names instead.

use crate::currency::{CurrencyId, ExchangeRate, NoteLifetime};
use crate::encoding::{Decode, Encode, Reader};
use crate::errors::DecodeError;
use crate::ids::{ChainId, TxId};
use crate::keys::{ElGamalPublicKey, LoyaltyId, PublicIdentity, TxSignature};

/// Longest member name, in bytes (UTF-8).
pub const MAX_MEMBER_NAME: usize = 64;
/// Most decimal places a currency may declare.
pub const MAX_DECIMALS: u8 = 18;

/// A proposal's identifier: the ID of the `ProposeMember` transaction.
pub type ProposalId = TxId;

/// What a membership proposal asks for.
// Built once per proposal and never copied in bulk; boxing the identity
// would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipAction {
    /// Admit a new partner under `name`.
    Admit {
        /// The candidate's identity (signing and ElGamal keys).
        candidate: PublicIdentity,
        /// Display name (≤ [`MAX_MEMBER_NAME`] bytes of UTF-8, not empty).
        name: String,
    },
    /// Remove a current member.
    Remove {
        /// The member to remove.
        member: LoyaltyId,
    },
}

/// `ProposeMember` (tag 8): a member proposes to admit or remove a partner.
/// The proposer's vote counts as a yes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposeMemberTx {
    /// Ledger.
    pub chain: ChainId,
    /// The proposing member.
    pub proposer: LoyaltyId,
    /// The proposer's governance nonce.
    pub nonce: u64,
    /// What is proposed.
    pub action: MembershipAction,
    /// The proposer's signature.
    pub signature: TxSignature,
}

/// `Vote` (tag 9): a member votes on an open proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteTx {
    /// Ledger.
    pub chain: ChainId,
    /// The voting member.
    pub voter: LoyaltyId,
    /// The voter's governance nonce.
    pub nonce: u64,
    /// The proposal voted on.
    pub proposal: ProposalId,
    /// Yes or no.
    pub approve: bool,
    /// The voter's signature.
    pub signature: TxSignature,
}

/// `RegisterCurrency` (tag 10): a member registers a currency it issues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterCurrencyTx {
    /// Ledger.
    pub chain: ChainId,
    /// The issuing member (its identity becomes the currency's issuer).
    pub issuer: LoyaltyId,
    /// The issuer's governance nonce.
    pub nonce: u64,
    /// The currency's symbol.
    pub currency: CurrencyId,
    /// Decimal places for display (amounts on the ledger are integers).
    pub decimals: u8,
    /// An auditor key every amount of the currency is also encrypted to.
    pub auditor: Option<ElGamalPublicKey>,
    /// Value of one point in the coalition's settlement unit, `p/q`
    /// (settlement netting, spec §16.5).
    pub settlement_value: ExchangeRate,
    /// How long its points stay spendable in the shielded pool.
    pub note_lifetime: NoteLifetime,
    /// The issuer's signature.
    pub signature: TxSignature,
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    out.push(name.len().min(255) as u8);
    out.extend_from_slice(name.as_bytes());
}

/// Reads a name (`u8` length ‖ UTF-8): 1..=[`MAX_MEMBER_NAME`] bytes.
/// Member, candidate, founder and coalition names all use it.
pub fn read_name(reader: &mut Reader<'_>, what: &'static str) -> Result<String, DecodeError> {
    let len = reader.u8(what)? as usize;
    if len == 0 || len > MAX_MEMBER_NAME {
        return Err(DecodeError::OutOfBounds {
            what,
            value: len as u64,
        });
    }
    String::from_utf8(reader.take(len, what)?.to_vec()).map_err(|_| DecodeError::Invalid {
        what,
        reason: "not UTF-8",
    })
}

fn read_id(reader: &mut Reader<'_>, what: &'static str) -> Result<LoyaltyId, DecodeError> {
    Ok(LoyaltyId(reader.array(what)?))
}

impl ProposeMemberTx {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        out.extend_from_slice(&self.proposer.0);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        match &self.action {
            MembershipAction::Admit { candidate, name } => {
                out.push(0);
                candidate.encode(out);
                put_name(out, name);
            }
            MembershipAction::Remove { member } => {
                out.push(1);
                out.extend_from_slice(&member.0);
            }
        }
    }

    pub(crate) fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain = ChainId::decode(reader)?;
        let proposer = read_id(reader, "proposer")?;
        let nonce = reader.u64("governance nonce")?;
        let action = match reader.u8("membership action")? {
            0 => MembershipAction::Admit {
                candidate: PublicIdentity::decode(reader)?,
                name: read_name(reader, "member name")?,
            },
            1 => MembershipAction::Remove {
                member: read_id(reader, "member")?,
            },
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "membership action",
                    tag,
                })
            }
        };
        Ok(Self {
            chain,
            proposer,
            nonce,
            action,
            signature: TxSignature::decode(reader)?,
        })
    }
}

impl VoteTx {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        out.extend_from_slice(&self.voter.0);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        out.extend_from_slice(&self.proposal.0);
        out.push(u8::from(self.approve));
    }

    pub(crate) fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            chain: ChainId::decode(reader)?,
            voter: read_id(reader, "voter")?,
            nonce: reader.u64("governance nonce")?,
            proposal: TxId(reader.array("proposal")?),
            approve: reader.flag("approve")?,
            signature: TxSignature::decode(reader)?,
        })
    }
}

impl RegisterCurrencyTx {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        out.extend_from_slice(&self.issuer.0);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        self.currency.encode(out);
        out.push(self.decimals);
        match &self.auditor {
            None => out.push(0),
            Some(key) => {
                out.push(1);
                key.encode(out);
            }
        }
        self.settlement_value.encode(out);
        self.note_lifetime.encode(out);
    }

    pub(crate) fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain = ChainId::decode(reader)?;
        let issuer = read_id(reader, "issuer")?;
        let nonce = reader.u64("governance nonce")?;
        let currency = CurrencyId::decode(reader)?;
        let decimals = reader.u8("decimals")?;
        if decimals > MAX_DECIMALS {
            return Err(DecodeError::OutOfBounds {
                what: "decimals",
                value: u64::from(decimals),
            });
        }
        let auditor = match reader.flag("auditor")? {
            false => None,
            true => Some(ElGamalPublicKey::decode(reader)?),
        };
        Ok(Self {
            chain,
            issuer,
            nonce,
            currency,
            decimals,
            auditor,
            settlement_value: ExchangeRate::decode(reader)?,
            note_lifetime: NoteLifetime::decode(reader)?,
            signature: TxSignature::decode(reader)?,
        })
    }
}
