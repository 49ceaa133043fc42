//! The confidential-account transactions and their canonical encodings (spec §8).
//!
//! Wire format of every transaction:
//!
//! ```text
//! version (u8 = 1) ‖ tag (u8) ‖ body ‖ signature (64 bytes, Ed25519)
//! ```
//!
//! The signature covers `"coalition/v1/tx-signature" ‖ version ‖ tag ‖ body`,
//! i.e. everything including the proofs, so nothing in a signed transaction
//! can be altered (no malleability). Integers are little-endian; points are
//! 32-byte compressed Ristretto; scalars are 32-byte canonical. Replays are
//! stopped by nonces (account nonce for owner operations, issuance sequence for
//! `Issue`) and by the chain ID bound into every transcript and signature.

use sha2::{Digest, Sha512};

use crate::currency::{CurrencyId, CurrencyPolicy, ExchangeRate};
use crate::elgamal::{Ciphertext, GroupedCiphertext, PedersenCommitment};
use crate::encoding::{Decode, Encode, Reader};
use crate::errors::DecodeError;
use crate::governance::{ProposeMemberTx, RegisterCurrencyTx, VoteTx};
use crate::keys::{PublicIdentity, TxSignature};
use crate::partnership::SignedTerms;
use crate::proofs::{
    DebitProof, EqualityProof, ExchangeProof, GroupedValidityProof, IssueProof, RangeProof,
    RateProof, DEBIT_RANGE, EXCHANGE_RANGE, ISSUE_RANGE,
};
use crate::shielded::{RedeemTx, ShieldTx};
use crate::statements::{DebitKind, DebitStatement, ExchangeStatement, IssueStatement};

// The identifiers live in `ids` (every transaction type names its chain);
// re-exported here where callers have always found them.
pub use crate::ids::{ChainId, TxId, TX_VERSION};

const SIGNATURE_DOMAIN: &[u8] = b"coalition/v1/tx-signature";

/// `Issue` (tag 1): the currency's issuer credits a recipient's pending balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueTx {
    /// Ledger.
    pub chain: ChainId,
    /// Currency issued.
    pub currency: CurrencyId,
    /// Issuance sequence number: must equal the ledger's next one for this currency.
    pub issuer_nonce: u64,
    /// The recipient.
    pub recipient: PublicIdentity,
    /// Amount encrypted to (recipient, issuer, auditor?).
    pub amount: GroupedCiphertext,
    /// Validity and range proof.
    pub proof: IssueProof,
    /// The issuer's signature.
    pub signature: TxSignature,
}

/// `Transfer` (tag 2): the source debits its available balance and credits the
/// destination's pending balance. A redemption at a merchant is a transfer to
/// the merchant's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferTx {
    /// Ledger.
    pub chain: ChainId,
    /// Currency.
    pub currency: CurrencyId,
    /// The source account's nonce.
    pub nonce: u64,
    /// The source account's owner.
    pub source: PublicIdentity,
    /// The destination account's owner.
    pub destination: PublicIdentity,
    /// Amount encrypted to (source, destination, auditor?).
    pub amount: GroupedCiphertext,
    /// Commitment to the source's new available balance.
    pub new_balance: PedersenCommitment,
    /// Equality, validity and aggregated range proof.
    pub proof: DebitProof,
    /// The source owner's signature.
    pub signature: TxSignature,
}

/// `ApplyPending` (tag 3): the owner folds its pending balance into its
/// available balance: every pending credit, at least the
/// `expected_pending_credits` it saw (credits landing meanwhile cannot
/// invalidate it, spec §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyPendingTx {
    /// Ledger.
    pub chain: ChainId,
    /// Currency.
    pub currency: CurrencyId,
    /// Account nonce.
    pub nonce: u64,
    /// The account owner.
    pub owner: PublicIdentity,
    /// The pending-credit counter the owner saw.
    pub expected_pending_credits: u64,
    /// The owner's signature.
    pub signature: TxSignature,
}

/// `Burn` (tag 4): a merchant returns collected points to the currency's
/// issuer for settlement; the amount is readable by the merchant, the issuer
/// and the auditor only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BurnTx {
    /// Ledger.
    pub chain: ChainId,
    /// Currency.
    pub currency: CurrencyId,
    /// The merchant account's nonce.
    pub nonce: u64,
    /// The merchant (account owner).
    pub source: PublicIdentity,
    /// Amount encrypted to (merchant, issuer, auditor?).
    pub amount: GroupedCiphertext,
    /// Commitment to the merchant's new available balance.
    pub new_balance: PedersenCommitment,
    /// Equality, validity and aggregated range proof.
    pub proof: DebitProof,
    /// The merchant's signature.
    pub signature: TxSignature,
}

/// `Exchange` (tag 5): the owner converts `x` of currency `from` into
/// `y = x·p/q` of currency `to`, credited to its own `to` pending balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeTx {
    /// Ledger.
    pub chain: ChainId,
    /// Currency debited.
    pub from: CurrencyId,
    /// Currency credited.
    pub to: CurrencyId,
    /// The partnership's rate `p/q`.
    pub rate: ExchangeRate,
    /// Nonce of the owner's `from` account.
    pub nonce: u64,
    /// The owner of both accounts.
    pub owner: PublicIdentity,
    /// `x` encrypted to (owner, issuer of `from`, auditor of `from`?).
    pub amount_from: GroupedCiphertext,
    /// `y` encrypted to (owner, issuer of `to`, auditor of `to`?).
    pub amount_to: GroupedCiphertext,
    /// Commitment to the new `from` balance.
    pub new_balance: PedersenCommitment,
    /// The exchange proof.
    pub proof: ExchangeProof,
    /// The owner's signature.
    pub signature: TxSignature,
}

/// Any confidential-account transaction.
// Variants differ in size (ApplyPending carries no proof); transactions are
// decoded once and passed by reference, so boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    /// Tag 1.
    Issue(IssueTx),
    /// Tag 2.
    Transfer(TransferTx),
    /// Tag 3.
    ApplyPending(ApplyPendingTx),
    /// Tag 4.
    Burn(BurnTx),
    /// Tag 5.
    Exchange(ExchangeTx),
    /// Tag 6.
    Shield(ShieldTx),
    /// Tag 7.
    Redeem(RedeemTx),
    /// Tag 8 (governance, spec §16).
    ProposeMember(ProposeMemberTx),
    /// Tag 9.
    Vote(VoteTx),
    /// Tag 10.
    RegisterCurrency(RegisterCurrencyTx),
    /// Tag 11: partnership terms signed by every partner they name.
    Terms(SignedTerms),
}

impl Transaction {
    /// The type tag.
    pub fn tag(&self) -> u8 {
        match self {
            Transaction::Issue(_) => 1,
            Transaction::Transfer(_) => 2,
            Transaction::ApplyPending(_) => 3,
            Transaction::Burn(_) => 4,
            Transaction::Exchange(_) => 5,
            Transaction::Shield(_) => 6,
            Transaction::Redeem(_) => 7,
            Transaction::ProposeMember(_) => 8,
            Transaction::Vote(_) => 9,
            Transaction::RegisterCurrency(_) => 10,
            Transaction::Terms(_) => 11,
        }
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Transaction::Issue(_) => "issue",
            Transaction::Transfer(_) => "transfer",
            Transaction::ApplyPending(_) => "apply-pending",
            Transaction::Burn(_) => "burn",
            Transaction::Exchange(_) => "exchange",
            Transaction::Shield(_) => "shield",
            Transaction::Redeem(_) => "redeem",
            Transaction::ProposeMember(_) => "propose-member",
            Transaction::Vote(_) => "vote",
            Transaction::RegisterCurrency(_) => "register-currency",
            Transaction::Terms(_) => "terms",
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Transaction::Issue(tx) => tx.encode_body(out),
            Transaction::Transfer(tx) => tx.encode_body(out),
            Transaction::ApplyPending(tx) => tx.encode_body(out),
            Transaction::Burn(tx) => tx.encode_body(out),
            Transaction::Exchange(tx) => tx.encode_body(out),
            Transaction::Shield(tx) => tx.encode_body(out),
            Transaction::Redeem(tx) => tx.encode_body(out),
            Transaction::ProposeMember(tx) => tx.encode_body(out),
            Transaction::Vote(tx) => tx.encode_body(out),
            Transaction::RegisterCurrency(tx) => tx.encode_body(out),
            Transaction::Terms(signed) => signed.terms.encode(out),
        }
    }

    /// The ledger the transaction is for.
    pub fn chain(&self) -> ChainId {
        match self {
            Transaction::Issue(tx) => tx.chain,
            Transaction::Transfer(tx) => tx.chain,
            Transaction::ApplyPending(tx) => tx.chain,
            Transaction::Burn(tx) => tx.chain,
            Transaction::Exchange(tx) => tx.chain,
            Transaction::Shield(tx) => tx.chain,
            Transaction::Redeem(tx) => tx.chain,
            Transaction::ProposeMember(tx) => tx.chain,
            Transaction::Vote(tx) => tx.chain,
            Transaction::RegisterCurrency(tx) => tx.chain,
            Transaction::Terms(signed) => signed.terms.chain,
        }
    }

    /// The signer's Ed25519 signature; `None` for `Redeem`, which one would
    /// name (it is authorized by a spend-authorization signature under a
    /// re-randomized key instead, checked with its proof), and for `Terms`,
    /// which carries one signature per partner.
    pub fn signature(&self) -> Option<&TxSignature> {
        match self {
            Transaction::Issue(tx) => Some(&tx.signature),
            Transaction::Transfer(tx) => Some(&tx.signature),
            Transaction::ApplyPending(tx) => Some(&tx.signature),
            Transaction::Burn(tx) => Some(&tx.signature),
            Transaction::Exchange(tx) => Some(&tx.signature),
            Transaction::Shield(tx) => Some(&tx.signature),
            Transaction::ProposeMember(tx) => Some(&tx.signature),
            Transaction::Vote(tx) => Some(&tx.signature),
            Transaction::RegisterCurrency(tx) => Some(&tx.signature),
            Transaction::Redeem(_) | Transaction::Terms(_) => None,
        }
    }

    /// Replaces the signature (builders sign after proving). A `Redeem`
    /// has none and is left unchanged.
    pub fn set_signature(&mut self, signature: TxSignature) {
        match self {
            Transaction::Issue(tx) => tx.signature = signature,
            Transaction::Transfer(tx) => tx.signature = signature,
            Transaction::ApplyPending(tx) => tx.signature = signature,
            Transaction::Burn(tx) => tx.signature = signature,
            Transaction::Exchange(tx) => tx.signature = signature,
            Transaction::Shield(tx) => tx.signature = signature,
            Transaction::ProposeMember(tx) => tx.signature = signature,
            Transaction::Vote(tx) => tx.signature = signature,
            Transaction::RegisterCurrency(tx) => tx.signature = signature,
            Transaction::Redeem(_) | Transaction::Terms(_) => {}
        }
    }

    /// The bytes the signer signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2048);
        out.extend_from_slice(SIGNATURE_DOMAIN);
        out.push(TX_VERSION);
        out.push(self.tag());
        self.encode_body(&mut out);
        out
    }

    /// The transaction's identifier: `SHA-512(encoding)[0..32]`, except for
    /// `Redeem`, whose ID leaves out the Groth16 proof (anyone can
    /// re-randomize a Groth16 proof; the ID must not change with it) and the
    /// spend-authorization signature (which signs exactly what the ID
    /// covers).
    pub fn id(&self) -> TxId {
        let digest = match self {
            Transaction::Redeem(tx) => {
                let mut bytes = vec![TX_VERSION, self.tag()];
                tx.encode_unproven(&mut bytes);
                Sha512::digest(bytes)
            }
            _ => Sha512::digest(self.to_bytes()),
        };
        let mut id = [0u8; 32];
        id.copy_from_slice(&digest[..32]);
        TxId(id)
    }
}

impl Encode for Transaction {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(TX_VERSION);
        out.push(self.tag());
        self.encode_body(out);
        if let Some(signature) = self.signature() {
            signature.encode(out);
        }
        if let Transaction::Terms(signed) = self {
            out.extend_from_slice(&(signed.signatures.len() as u32).to_le_bytes());
            for signature in &signed.signatures {
                signature.encode(out);
            }
        }
    }
}

impl Decode for Transaction {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = reader.u8("transaction version")?;
        if version != TX_VERSION {
            return Err(DecodeError::UnknownTag {
                what: "transaction version",
                tag: version,
            });
        }
        match reader.u8("transaction tag")? {
            1 => Ok(Transaction::Issue(IssueTx::decode_body(reader)?)),
            2 => Ok(Transaction::Transfer(TransferTx::decode_body(reader)?)),
            3 => Ok(Transaction::ApplyPending(ApplyPendingTx::decode_body(
                reader,
            )?)),
            4 => Ok(Transaction::Burn(BurnTx::decode_body(reader)?)),
            5 => Ok(Transaction::Exchange(ExchangeTx::decode_body(reader)?)),
            6 => Ok(Transaction::Shield(ShieldTx::decode_body(reader)?)),
            7 => Ok(Transaction::Redeem(RedeemTx::decode_body(reader)?)),
            8 => Ok(Transaction::ProposeMember(ProposeMemberTx::decode_body(
                reader,
            )?)),
            9 => Ok(Transaction::Vote(VoteTx::decode_body(reader)?)),
            10 => Ok(Transaction::RegisterCurrency(
                RegisterCurrencyTx::decode_body(reader)?,
            )),
            11 => Ok(Transaction::Terms(SignedTerms::decode(reader)?)),
            tag => Err(DecodeError::UnknownTag {
                what: "transaction tag",
                tag,
            }),
        }
    }
}

fn read_amount(reader: &mut Reader<'_>) -> Result<GroupedCiphertext, DecodeError> {
    GroupedCiphertext::decode(reader)
}

fn encode_debit_proof(proof: &DebitProof, out: &mut Vec<u8>) {
    proof.equality.encode(out);
    proof.validity.encode(out);
    proof.range.encode(out);
}

fn decode_debit_proof(reader: &mut Reader<'_>, handles: usize) -> Result<DebitProof, DecodeError> {
    Ok(DebitProof {
        equality: EqualityProof::decode(reader)?,
        validity: GroupedValidityProof::decode_for(reader, handles)?,
        range: RangeProof::read(reader, DEBIT_RANGE.0, DEBIT_RANGE.1)?,
    })
}

impl IssueTx {
    fn encode_body(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        self.currency.encode(out);
        out.extend_from_slice(&self.issuer_nonce.to_le_bytes());
        self.recipient.encode(out);
        self.amount.encode(out);
        self.proof.validity.encode(out);
        self.proof.range.encode(out);
    }

    fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain = ChainId::decode(reader)?;
        let currency = CurrencyId::decode(reader)?;
        let issuer_nonce = reader.u64("issuer nonce")?;
        let recipient = PublicIdentity::decode(reader)?;
        let amount = read_amount(reader)?;
        let validity = GroupedValidityProof::decode_for(reader, amount.handles.len())?;
        let range = RangeProof::read(reader, ISSUE_RANGE.0, ISSUE_RANGE.1)?;
        let signature = TxSignature::decode(reader)?;
        Ok(Self {
            chain,
            currency,
            issuer_nonce,
            recipient,
            amount,
            proof: IssueProof { validity, range },
            signature,
        })
    }

    /// The statement this transaction's proof is checked against.
    pub fn statement(&self, policy: &CurrencyPolicy) -> IssueStatement {
        IssueStatement {
            chain: self.chain,
            currency: self.currency,
            issuer_nonce: self.issuer_nonce,
            recipient_id: self.recipient.loyalty_id(),
            recipient: self.recipient.encryption,
            issuer: policy.issuer.encryption,
            auditor: policy.auditor,
            amount: self.amount.clone(),
        }
    }
}

impl TransferTx {
    fn encode_body(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        self.currency.encode(out);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        self.source.encode(out);
        self.destination.encode(out);
        self.amount.encode(out);
        self.new_balance.encode(out);
        encode_debit_proof(&self.proof, out);
    }

    fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain = ChainId::decode(reader)?;
        let currency = CurrencyId::decode(reader)?;
        let nonce = reader.u64("nonce")?;
        let source = PublicIdentity::decode(reader)?;
        let destination = PublicIdentity::decode(reader)?;
        let amount = read_amount(reader)?;
        let new_balance = PedersenCommitment::decode(reader)?;
        let proof = decode_debit_proof(reader, amount.handles.len())?;
        let signature = TxSignature::decode(reader)?;
        Ok(Self {
            chain,
            currency,
            nonce,
            source,
            destination,
            amount,
            new_balance,
            proof,
            signature,
        })
    }

    /// The statement, given the ledger's currency policy and the source's
    /// available balance.
    pub fn statement(
        &self,
        policy: &CurrencyPolicy,
        source_available: &Ciphertext,
    ) -> DebitStatement {
        DebitStatement {
            kind: DebitKind::Transfer,
            chain: self.chain,
            currency: self.currency,
            nonce: self.nonce,
            source_id: self.source.loyalty_id(),
            destination_id: Some(self.destination.loyalty_id()),
            source: self.source.encryption,
            destination: self.destination.encryption,
            auditor: policy.auditor,
            source_available: *source_available,
            amount: self.amount.clone(),
            new_balance: self.new_balance,
        }
    }
}

impl ApplyPendingTx {
    fn encode_body(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        self.currency.encode(out);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        self.owner.encode(out);
        out.extend_from_slice(&self.expected_pending_credits.to_le_bytes());
    }

    fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            chain: ChainId::decode(reader)?,
            currency: CurrencyId::decode(reader)?,
            nonce: reader.u64("nonce")?,
            owner: PublicIdentity::decode(reader)?,
            expected_pending_credits: reader.u64("expected pending credits")?,
            signature: TxSignature::decode(reader)?,
        })
    }
}

impl BurnTx {
    fn encode_body(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        self.currency.encode(out);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        self.source.encode(out);
        self.amount.encode(out);
        self.new_balance.encode(out);
        encode_debit_proof(&self.proof, out);
    }

    fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain = ChainId::decode(reader)?;
        let currency = CurrencyId::decode(reader)?;
        let nonce = reader.u64("nonce")?;
        let source = PublicIdentity::decode(reader)?;
        let amount = read_amount(reader)?;
        let new_balance = PedersenCommitment::decode(reader)?;
        let proof = decode_debit_proof(reader, amount.handles.len())?;
        let signature = TxSignature::decode(reader)?;
        Ok(Self {
            chain,
            currency,
            nonce,
            source,
            amount,
            new_balance,
            proof,
            signature,
        })
    }

    /// The statement, given the ledger's currency policy and the merchant's
    /// available balance.
    pub fn statement(
        &self,
        policy: &CurrencyPolicy,
        source_available: &Ciphertext,
    ) -> DebitStatement {
        DebitStatement {
            kind: DebitKind::Burn,
            chain: self.chain,
            currency: self.currency,
            nonce: self.nonce,
            source_id: self.source.loyalty_id(),
            destination_id: None,
            source: self.source.encryption,
            destination: policy.issuer.encryption,
            auditor: policy.auditor,
            source_available: *source_available,
            amount: self.amount.clone(),
            new_balance: self.new_balance,
        }
    }
}

impl ExchangeTx {
    fn encode_body(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        self.from.encode(out);
        self.to.encode(out);
        self.rate.encode(out);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        self.owner.encode(out);
        self.amount_from.encode(out);
        self.amount_to.encode(out);
        self.new_balance.encode(out);
        self.proof.equality.encode(out);
        self.proof.validity_from.encode(out);
        self.proof.validity_to.encode(out);
        self.proof.rate.encode(out);
        self.proof.range.encode(out);
    }

    fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain = ChainId::decode(reader)?;
        let from = CurrencyId::decode(reader)?;
        let to = CurrencyId::decode(reader)?;
        let rate = ExchangeRate::decode(reader)?;
        let nonce = reader.u64("nonce")?;
        let owner = PublicIdentity::decode(reader)?;
        let amount_from = read_amount(reader)?;
        let amount_to = read_amount(reader)?;
        let new_balance = PedersenCommitment::decode(reader)?;
        let equality = EqualityProof::decode(reader)?;
        let validity_from = GroupedValidityProof::decode_for(reader, amount_from.handles.len())?;
        let validity_to = GroupedValidityProof::decode_for(reader, amount_to.handles.len())?;
        let rate_proof = RateProof::decode(reader)?;
        let range = RangeProof::read(reader, EXCHANGE_RANGE.0, EXCHANGE_RANGE.1)?;
        let signature = TxSignature::decode(reader)?;
        Ok(Self {
            chain,
            from,
            to,
            rate,
            nonce,
            owner,
            amount_from,
            amount_to,
            new_balance,
            proof: ExchangeProof {
                equality,
                validity_from,
                validity_to,
                rate: rate_proof,
                range,
            },
            signature,
        })
    }

    /// The statement, given both currencies' policies and the owner's
    /// available `from` balance.
    pub fn statement(
        &self,
        from_policy: &CurrencyPolicy,
        to_policy: &CurrencyPolicy,
        source_available: &Ciphertext,
    ) -> ExchangeStatement {
        ExchangeStatement {
            chain: self.chain,
            from: self.from,
            to: self.to,
            rate: self.rate,
            nonce: self.nonce,
            owner_id: self.owner.loyalty_id(),
            owner: self.owner.encryption,
            from_issuer: from_policy.issuer.encryption,
            from_auditor: from_policy.auditor,
            to_issuer: to_policy.issuer.encryption,
            to_auditor: to_policy.auditor,
            source_available: *source_available,
            amount_from: self.amount_from.clone(),
            amount_to: self.amount_to.clone(),
            new_balance: self.new_balance,
        }
    }
}
