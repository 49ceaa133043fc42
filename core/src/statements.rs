//! What each proof proves (spec §8), and how each statement is absorbed into
//! its transcript (spec §7). A statement is assembled from a transaction plus
//! the ledger facts it refers to (the source's current available balance, the
//! currency's issuer and auditor keys), so a proof can never be checked
//! against facts the prover did not commit to.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;

use crate::currency::{CurrencyId, ExchangeRate};
use crate::elgamal::{Ciphertext, GroupedCiphertext, PedersenCommitment};
use crate::ids::ChainId;
use crate::keys::{ElGamalPublicKey, LoyaltyId};
use crate::transcript::{labels, TranscriptProtocol};

fn absorb_context(t: &mut Transcript, chain: &ChainId, currency: &CurrencyId, nonce: u64) {
    t.append_message(b"chain", &chain.0);
    t.append_message(b"currency", currency.as_bytes());
    t.append_u64(b"nonce", nonce);
}

/// `Issue`: the issuer credits `amount` to the recipient (spec §8.3).
///
/// Proves: `amount = (C, D_rcpt, D_iss[, D_aud])` is a valid grouped
/// encryption of some `v` under (recipient, issuer, auditor), and `v ∈ [0, 2^32)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueStatement {
    /// Ledger the transaction is for.
    pub chain: ChainId,
    /// Currency issued.
    pub currency: CurrencyId,
    /// The issuer's issuance sequence number for this currency.
    pub issuer_nonce: u64,
    /// Recipient account's loyalty ID.
    pub recipient_id: LoyaltyId,
    /// Recipient's ElGamal key (handle 0).
    pub recipient: ElGamalPublicKey,
    /// Issuer's ElGamal key (handle 1).
    pub issuer: ElGamalPublicKey,
    /// Currency auditor's key (handle 2), if the currency has one.
    pub auditor: Option<ElGamalPublicKey>,
    /// The amount ciphertext.
    pub amount: GroupedCiphertext,
}

impl IssueStatement {
    /// Keys of `amount`'s handles, in order.
    pub fn amount_keys(&self) -> Vec<ElGamalPublicKey> {
        let mut keys = vec![self.recipient, self.issuer];
        keys.extend(self.auditor);
        keys
    }

    /// The transcript with the whole statement absorbed (spec §7.2).
    pub fn transcript(&self) -> Transcript {
        let mut t = Transcript::new(labels::ISSUE);
        absorb_context(&mut t, &self.chain, &self.currency, self.issuer_nonce);
        t.append_message(b"recipient-id", &self.recipient_id.0);
        t.append_public_key(b"recipient-key", &self.recipient);
        t.append_public_key(b"issuer-key", &self.issuer);
        t.append_optional_key(b"auditor-key", self.auditor.as_ref());
        t.append_grouped_ciphertext(b"amount", &self.amount);
        t
    }
}

/// Which debit a [`DebitStatement`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebitKind {
    /// Owner → another account; the amount lands in its pending balance.
    Transfer,
    /// Merchant → its currency's issuer, destroying the points for settlement.
    Burn,
}

impl DebitKind {
    /// The least amount the debit may move: 1 for a Transfer (a credit can
    /// create an account, so each one a customer creates costs it a point,
    /// spec §5.3), 0 for a Burn.
    pub fn minimum(self) -> u64 {
        match self {
            DebitKind::Transfer => 1,
            DebitKind::Burn => 0,
        }
    }
}

/// `Transfer` and `Burn`: the owner debits its available balance (spec §8.4, §8.6).
///
/// With `A = (C_av, D_av)` the source's available balance,
/// `amount = (C_a, D_src, D_dst[, D_aud])` and `C'` the new-balance commitment, proves:
/// 1. `amount` is a valid grouped encryption of some `a`;
/// 2. `A − (C_a, D_src)` encrypts under the source key the same value as `C'` commits to;
/// 3. `a − m ∈ [0, 2^64)` and the committed new balance `∈ [0, 2^64)` (one aggregated
///    proof), where `m` is the kind's [`DebitKind::minimum`]: a Transfer moves at least
///    one point. The range proof is over `C_a − m·G`, which commits to `a − m` with the
///    same blinding, so `a ≥ m` (and `a < 2^64 + m`, while the equality with the balance
///    keeps `a ≤` the balance `< 2^64`).
///
/// For `Burn` the second handle is the issuer's (there is no destination account).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebitStatement {
    /// Transfer or Burn: selects the transcript label.
    pub kind: DebitKind,
    /// Ledger.
    pub chain: ChainId,
    /// Currency debited.
    pub currency: CurrencyId,
    /// The source account's nonce.
    pub nonce: u64,
    /// Source account's loyalty ID.
    pub source_id: LoyaltyId,
    /// Destination's loyalty ID (Transfer); `None` for Burn.
    pub destination_id: Option<LoyaltyId>,
    /// Source owner's ElGamal key (handle 0).
    pub source: ElGamalPublicKey,
    /// Destination's key (Transfer) or the issuer's key (Burn) (handle 1).
    pub destination: ElGamalPublicKey,
    /// Currency auditor's key (handle 2), if any.
    pub auditor: Option<ElGamalPublicKey>,
    /// The source's available balance as stored on the ledger.
    pub source_available: Ciphertext,
    /// The amount ciphertext.
    pub amount: GroupedCiphertext,
    /// Commitment to the new available balance.
    pub new_balance: PedersenCommitment,
}

impl DebitStatement {
    /// Keys of `amount`'s handles, in order.
    pub fn amount_keys(&self) -> Vec<ElGamalPublicKey> {
        let mut keys = vec![self.source, self.destination];
        keys.extend(self.auditor);
        keys
    }

    /// The commitments the aggregated range proof is over: `C_a − m·G`
    /// (the amount above the kind's minimum) and `C'`.
    pub fn range_commitments(&self) -> [RistrettoPoint; 2] {
        let shift = crate::generators::mul_g(&Scalar::from(self.kind.minimum()));
        [
            self.amount.commitment.as_point() - shift,
            *self.new_balance.as_point(),
        ]
    }

    /// The source's new available balance, `A − (C_a, D_src)`, or `None` when
    /// the amount has no source handle (malformed).
    pub fn new_balance_ciphertext(&self) -> Option<Ciphertext> {
        self.amount.ciphertext(0).map(|a| self.source_available - a)
    }

    /// The transcript with the whole statement absorbed (spec §7.2).
    pub fn transcript(&self) -> Transcript {
        let mut t = Transcript::new(match self.kind {
            DebitKind::Transfer => labels::TRANSFER,
            DebitKind::Burn => labels::BURN,
        });
        absorb_context(&mut t, &self.chain, &self.currency, self.nonce);
        t.append_message(b"source-id", &self.source_id.0);
        match &self.destination_id {
            Some(id) => t.append_message(b"destination-id", &id.0),
            None => t.append_message(b"destination-id", b""),
        }
        t.append_public_key(b"source-key", &self.source);
        t.append_public_key(b"destination-key", &self.destination);
        t.append_optional_key(b"auditor-key", self.auditor.as_ref());
        t.append_ciphertext(b"source-available", &self.source_available);
        t.append_grouped_ciphertext(b"amount", &self.amount);
        t.append_commitment(b"new-balance", &self.new_balance);
        t
    }
}

/// `Exchange`: the owner converts `x` of currency A into `y` of currency B at
/// the public rate `p/q` (spec §8.7).
///
/// Proves: both amount ciphertexts are valid; `A_av − (C_x, D_own)` ↔ `C'`;
/// `q·C_y − p·C_x ∈ ⟨H⟩` (so `q·y = p·x` in the field); `x`, the new balance and
/// `y` are in `[0, 2^64)` — with `p, q < 2^32` both sides are below `2^96 < ℓ`,
/// so the equality holds over the integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeStatement {
    /// Ledger.
    pub chain: ChainId,
    /// Currency debited (A).
    pub from: CurrencyId,
    /// Currency credited (B).
    pub to: CurrencyId,
    /// `p/q`.
    pub rate: ExchangeRate,
    /// Nonce of the owner's A account.
    pub nonce: u64,
    /// Owner's loyalty ID.
    pub owner_id: LoyaltyId,
    /// Owner's ElGamal key (handle 0 of both amounts).
    pub owner: ElGamalPublicKey,
    /// Issuer of A (handle 1 of `amount_from`).
    pub from_issuer: ElGamalPublicKey,
    /// Auditor of A, if any (handle 2 of `amount_from`).
    pub from_auditor: Option<ElGamalPublicKey>,
    /// Issuer of B (handle 1 of `amount_to`).
    pub to_issuer: ElGamalPublicKey,
    /// Auditor of B, if any (handle 2 of `amount_to`).
    pub to_auditor: Option<ElGamalPublicKey>,
    /// The owner's available A balance on the ledger.
    pub source_available: Ciphertext,
    /// `x`, debited from A.
    pub amount_from: GroupedCiphertext,
    /// `y`, credited to B's pending balance.
    pub amount_to: GroupedCiphertext,
    /// Commitment to the new A balance.
    pub new_balance: PedersenCommitment,
}

impl ExchangeStatement {
    /// Keys of `amount_from`'s handles.
    pub fn from_keys(&self) -> Vec<ElGamalPublicKey> {
        let mut keys = vec![self.owner, self.from_issuer];
        keys.extend(self.from_auditor);
        keys
    }

    /// Keys of `amount_to`'s handles.
    pub fn to_keys(&self) -> Vec<ElGamalPublicKey> {
        let mut keys = vec![self.owner, self.to_issuer];
        keys.extend(self.to_auditor);
        keys
    }

    /// The new A balance, `A_av − (C_x, D_own)`.
    pub fn new_balance_ciphertext(&self) -> Option<Ciphertext> {
        self.amount_from
            .ciphertext(0)
            .map(|x| self.source_available - x)
    }

    /// The transcript with the whole statement absorbed (spec §7.2).
    pub fn transcript(&self) -> Transcript {
        let mut t = Transcript::new(labels::EXCHANGE);
        absorb_context(&mut t, &self.chain, &self.from, self.nonce);
        t.append_message(b"to-currency", self.to.as_bytes());
        t.append_u64(b"rate-numerator", u64::from(self.rate.numerator()));
        t.append_u64(b"rate-denominator", u64::from(self.rate.denominator()));
        t.append_message(b"owner-id", &self.owner_id.0);
        t.append_public_key(b"owner-key", &self.owner);
        t.append_public_key(b"from-issuer-key", &self.from_issuer);
        t.append_optional_key(b"from-auditor-key", self.from_auditor.as_ref());
        t.append_public_key(b"to-issuer-key", &self.to_issuer);
        t.append_optional_key(b"to-auditor-key", self.to_auditor.as_ref());
        t.append_ciphertext(b"source-available", &self.source_available);
        t.append_grouped_ciphertext(b"amount-from", &self.amount_from);
        t.append_grouped_ciphertext(b"amount-to", &self.amount_to);
        t.append_commitment(b"new-balance", &self.new_balance);
        t
    }
}
