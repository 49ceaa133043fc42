//! The shielded pool's transactions (spec §13): `Shield` moves a public
//! amount from a confidential account into a new note; `Redeem` spends notes
//! and pays a public amount to a merchant's account, revealing only
//! nullifiers, a change commitment and a recent tree root.
//!
//! Note, key and commitment types come from `coalition-circuits`; this module
//! gives them canonical encodings and defines what each proof's public inputs
//! are, computed from the transaction by prover and verifier alike.

use ark_bn254::{Bn254, Fr};
use ark_ec::AffineRepr;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use coalition_circuits::encryption::EncryptedNote;
use coalition_circuits::field;
use coalition_circuits::note::{AssetId, Epoch, Expiry, NoteCommitment, Nullifier, Rho, TreeRoot};
use coalition_circuits::output::OutputPublicInputs;
use coalition_circuits::spend::SpendPublicInputs;
use coalition_circuits::spend_auth::{Signature as SpendAuthSignature, VerificationKey};
use merlin::Transcript;

use crate::currency::CurrencyId;
use crate::elgamal::{Ciphertext, PedersenCommitment};
use crate::encoding::{Decode, Encode, Reader};
use crate::errors::DecodeError;
use crate::ids::ChainId;
use crate::keys::{ElGamalPublicKey, LoyaltyId, PublicIdentity, TxSignature};
use crate::proofs::{EqualityProof, RangeProof};
use crate::transcript::{labels, TranscriptProtocol};

/// Range-proof shape of `Shield`: the new available balance, 64 bits.
pub const SHIELD_RANGE: (usize, usize) = (64, 1);

/// The pool asset of a currency: its 8-byte symbol as a big-endian integer.
pub fn asset_id(currency: &CurrencyId) -> AssetId {
    AssetId(u64::from_be_bytes(*currency.as_bytes()))
}

/// The Spend circuit's `merchant` input for a merchant's loyalty ID:
/// `H_F("coalition/v1/merchant", id)`.
pub fn merchant_field(id: &LoyaltyId) -> Fr {
    field::hash_to_field(b"coalition/v1/merchant", &[&id.0])
}

/// The `ρ` of the note a `Shield` creates: `H_F("coalition/v1/shield-rho",
/// chain ‖ source loyalty ID ‖ currency ‖ nonce)`. Derived by every node, never
/// chosen by the sender: each (account, nonce) is used once, so Shield ρs are
/// unique, and nobody can aim one at a pending Redeem's nullifier (which would
/// block that Redeem's change ρ = nf₁ in the ledger's ρ-set).
pub fn shield_rho(chain: &ChainId, source: &LoyaltyId, currency: &CurrencyId, nonce: u64) -> Rho {
    Rho(field::hash_to_field(
        b"coalition/v1/shield-rho",
        &[
            &chain.0,
            &source.0,
            currency.as_bytes(),
            &nonce.to_le_bytes(),
        ],
    ))
}

/// A Groth16 proof over BN254: `A ∈ G1, B ∈ G2, C ∈ G1`, 128 bytes
/// compressed. Decoding checks every point is on its curve, in the
/// prime-order subgroup and not the identity.
#[derive(Clone, Debug, PartialEq)]
pub struct Groth16Proof(pub ark_groth16::Proof<Bn254>);

// Points compare exactly; `Proof` only lacks the marker.
impl Eq for Groth16Proof {}

impl Groth16Proof {
    /// Encoded length.
    pub const LEN: usize = 128;
}

impl Encode for Groth16Proof {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0
            .serialize_with_mode(&mut *out, Compress::Yes)
            .expect("serializing into a Vec cannot fail");
    }
}

impl Decode for Groth16Proof {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut bytes = reader.take(Self::LEN, "groth16 proof")?;
        let proof = ark_groth16::Proof::<Bn254>::deserialize_with_mode(
            &mut bytes,
            Compress::Yes,
            Validate::Yes,
        )
        .map_err(|_| DecodeError::Invalid {
            what: "groth16 proof",
            reason: "not a valid compressed BN254 proof (curve or subgroup check failed)",
        })?;
        if proof.a.is_zero() || proof.b.is_zero() || proof.c.is_zero() {
            return Err(DecodeError::IdentityPoint {
                what: "groth16 proof",
            });
        }
        Ok(Groth16Proof(proof))
    }
}

macro_rules! field_codec {
    ($($ty:ty => $what:literal),*) => {$(
        impl Encode for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_bytes());
            }
        }

        impl Decode for $ty {
            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                <$ty>::from_bytes(&reader.array($what)?).map_err(|_| DecodeError::Invalid {
                    what: $what,
                    reason: "not a canonical BN254 scalar",
                })
            }
        }
    )*};
}

field_codec!(
    NoteCommitment => "note commitment",
    Nullifier => "nullifier",
    Rho => "rho",
    TreeRoot => "tree root"
);

/// A settlement epoch: `u32` little-endian. `2^32 − 1` is refused: it is
/// no epoch (it stands for "never" as an expiry).
impl Encode for Epoch {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }
}

impl Decode for Epoch {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u32("epoch")? {
            u32::MAX => Err(DecodeError::OutOfBounds {
                what: "epoch",
                value: u64::from(u32::MAX),
            }),
            epoch => Ok(Epoch(epoch)),
        }
    }
}

/// `rk`: a canonical Baby Jubjub point of the prime-order subgroup, not the
/// identity.
impl Encode for VerificationKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

impl Decode for VerificationKey {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        VerificationKey::from_bytes(&reader.array("spend authorization key")?).map_err(|_| {
            DecodeError::Invalid {
                what: "spend authorization key",
                reason: "not a canonical Baby Jubjub point of the prime-order subgroup, or the identity",
            }
        })
    }
}

/// A spend-authorization signature `R ‖ S`, both canonical.
impl Encode for SpendAuthSignature {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

impl Decode for SpendAuthSignature {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        SpendAuthSignature::from_canonical_bytes(&reader.array("spend authorization signature")?)
            .map_err(|_| DecodeError::Invalid {
                what: "spend authorization signature",
                reason: "R is not a canonical Baby Jubjub point or S is not below l",
            })
    }
}

impl Encode for EncryptedNote {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

impl Decode for EncryptedNote {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(EncryptedNote::from_bytes(&reader.array("encrypted note")?))
    }
}

/// A note as the ledger stores it: commitment and ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteOutput {
    /// The leaf appended to the note tree.
    pub commitment: NoteCommitment,
    /// The note encrypted to its recipient.
    pub encrypted: EncryptedNote,
}

impl Encode for NoteOutput {
    fn encode(&self, out: &mut Vec<u8>) {
        self.commitment.encode(out);
        self.encrypted.encode(out);
    }
}

impl Decode for NoteOutput {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(NoteOutput {
            commitment: NoteCommitment::decode(reader)?,
            encrypted: EncryptedNote::decode(reader)?,
        })
    }
}

/// The account half of `Shield`: equality of `A − X·G` and `C'`, and a
/// 64-bit range proof on `C'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShieldBalanceProof {
    /// `A − (X·G, 0)` and `C'` hold the same value.
    pub equality: EqualityProof,
    /// `C'` opens to a value in `[0, 2^64)`.
    pub range: RangeProof,
}

/// What `Shield`'s account proof proves (spec §13.5). With `A = (C_av, D_av)`
/// the available balance, proves `A − (X·G, 0)` encrypts under the owner's
/// key the value `C'` commits to, and that value is in `[0, 2^64)`: the
/// account can afford `X`. The transcript also absorbs the new note's
/// commitment and `ρ`, so the debit and the note are one statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShieldStatement {
    /// Ledger.
    pub chain: ChainId,
    /// Currency.
    pub currency: CurrencyId,
    /// Account nonce.
    pub nonce: u64,
    /// The settlement epoch the Shield names (its note's expiry follows).
    pub epoch: Epoch,
    /// The account's loyalty ID.
    pub source_id: LoyaltyId,
    /// The owner's ElGamal key.
    pub source: ElGamalPublicKey,
    /// The available balance on the ledger.
    pub source_available: Ciphertext,
    /// `X`.
    pub value: u64,
    /// `C'`.
    pub new_balance: PedersenCommitment,
    /// The new note's commitment.
    pub note_commitment: NoteCommitment,
    /// The new note's `ρ`.
    pub rho: Rho,
    /// The new note's ciphertext.
    pub encrypted_note: EncryptedNote,
}

impl ShieldStatement {
    /// `A − (X·G, 0)`.
    pub fn new_balance_ciphertext(&self) -> Ciphertext {
        self.source_available.sub_amount(self.value)
    }

    /// The transcript with the whole statement absorbed.
    pub fn transcript(&self) -> Transcript {
        let mut t = Transcript::new(labels::SHIELD);
        t.append_message(b"chain", &self.chain.0);
        t.append_message(b"currency", self.currency.as_bytes());
        t.append_u64(b"nonce", self.nonce);
        t.append_u64(b"epoch", u64::from(self.epoch.0));
        t.append_message(b"source-id", &self.source_id.0);
        t.append_public_key(b"source-key", &self.source);
        t.append_ciphertext(b"source-available", &self.source_available);
        t.append_u64(b"value", self.value);
        t.append_commitment(b"new-balance", &self.new_balance);
        t.append_message(b"note-commitment", &self.note_commitment.to_bytes());
        t.append_message(b"rho", &self.rho.to_bytes());
        t.append_message(b"encrypted-note", &self.encrypted_note.to_bytes());
        t
    }
}

/// `Shield` (tag 6): debit `value` from the owner's available balance and
/// append a note worth `value`, proven well formed by an Output proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShieldTx {
    /// Ledger.
    pub chain: ChainId,
    /// Currency (the note's asset).
    pub currency: CurrencyId,
    /// Account nonce.
    pub nonce: u64,
    /// The settlement epoch the Shield is made in: the ledger's current one
    /// or the one before (spec §13.13). The note expires at the currency's
    /// [`crate::currency::NoteLifetime::expiry`] of it.
    pub epoch: Epoch,
    /// The account owner.
    pub source: PublicIdentity,
    /// `X`, public.
    pub value: u64,
    /// Commitment to the new available balance.
    pub new_balance: PedersenCommitment,
    /// The account proof.
    pub balance_proof: ShieldBalanceProof,
    /// The new note (its `ρ` is [`shield_rho`] of this transaction).
    pub output: NoteOutput,
    /// The Output proof.
    pub output_proof: Groth16Proof,
    /// The owner's signature over everything above.
    pub signature: TxSignature,
}

impl ShieldTx {
    /// The new note's `ρ`, derived from the transaction ([`shield_rho`]).
    pub fn rho(&self) -> Rho {
        shield_rho(
            &self.chain,
            &self.source.loyalty_id(),
            &self.currency,
            self.nonce,
        )
    }

    /// The account statement given the ledger's available balance.
    pub fn statement(&self, source_available: &Ciphertext) -> ShieldStatement {
        ShieldStatement {
            chain: self.chain,
            currency: self.currency,
            nonce: self.nonce,
            epoch: self.epoch,
            source_id: self.source.loyalty_id(),
            source: self.source.encryption,
            source_available: *source_available,
            value: self.value,
            new_balance: self.new_balance,
            note_commitment: self.output.commitment,
            rho: self.rho(),
            encrypted_note: self.output.encrypted.clone(),
        }
    }

    /// The Output proof's public inputs, given the note's expiry (the
    /// currency's lifetime applied to [`ShieldTx::epoch`]; the ledger
    /// computes it, the sender does not choose it).
    pub fn output_public_inputs(&self, expiry: Expiry) -> OutputPublicInputs {
        OutputPublicInputs {
            commitment: self.output.commitment,
            asset: asset_id(&self.currency),
            value: self.value,
            rho: self.rho(),
            expiry,
        }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        self.currency.encode(out);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        self.epoch.encode(out);
        self.source.encode(out);
        out.extend_from_slice(&self.value.to_le_bytes());
        self.new_balance.encode(out);
        self.balance_proof.equality.encode(out);
        self.balance_proof.range.encode(out);
        self.output.encode(out);
        self.output_proof.encode(out);
    }

    pub(crate) fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ShieldTx {
            chain: ChainId::decode(reader)?,
            currency: CurrencyId::decode(reader)?,
            nonce: reader.u64("nonce")?,
            epoch: Epoch::decode(reader)?,
            source: PublicIdentity::decode(reader)?,
            value: reader.u64("value")?,
            new_balance: PedersenCommitment::decode(reader)?,
            balance_proof: ShieldBalanceProof {
                equality: EqualityProof::decode(reader)?,
                range: RangeProof::read(reader, SHIELD_RANGE.0, SHIELD_RANGE.1)?,
            },
            output: NoteOutput::decode(reader)?,
            output_proof: Groth16Proof::decode(reader)?,
            signature: TxSignature::decode(reader)?,
        })
    }
}

/// What a Redeem's spend-authorization signature signs, given its binding
/// hash (for callers that already computed it with the public inputs).
pub fn authorization_message(binding: &Fr) -> [u8; 32] {
    field::to_bytes(binding)
}

/// `Redeem` (tag 7): spend up to two notes of `currency`, keep a change note,
/// pay `value` into the merchant's pending balance. Carries no account: the
/// Spend proof shows the notes are the owner's (under the re-randomized key
/// `rk`), and the spend-authorization signature under `rk` shows the owner
/// agreed (spec §13.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedeemTx {
    /// Ledger.
    pub chain: ChainId,
    /// Currency (the notes' asset).
    pub currency: CurrencyId,
    /// The merchant paid.
    pub merchant: PublicIdentity,
    /// `X`, public.
    pub value: u64,
    /// The settlement epoch the inputs must not have expired by: the
    /// ledger's current one or the one before (spec §13.13).
    pub epoch: Epoch,
    /// The note-tree root the inputs are proven under (must be recent).
    pub root: TreeRoot,
    /// Nullifiers of the two inputs.
    pub nullifiers: [Nullifier; 2],
    /// The re-randomized spend validating key `rk = ak + [α]·B`.
    pub rk: VerificationKey,
    /// The change note.
    pub change: NoteOutput,
    /// The Spend proof.
    pub proof: Groth16Proof,
    /// The spend-authorization signature under `rk` over
    /// [`RedeemTx::authorization_message`].
    pub spend_auth: SpendAuthSignature,
}

impl RedeemTx {
    /// Everything but the proof and the signature, in encoding order: what
    /// `binding` hashes and what the transaction ID is computed from.
    pub fn encode_unproven(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        self.currency.encode(out);
        self.merchant.encode(out);
        out.extend_from_slice(&self.value.to_le_bytes());
        self.epoch.encode(out);
        self.root.encode(out);
        self.nullifiers[0].encode(out);
        self.nullifiers[1].encode(out);
        self.rk.encode(out);
        self.change.encode(out);
    }

    /// `binding = H_F("coalition/v2/redeem-binding", version ‖ tag ‖
    /// everything but the proof and the signature)`: ties the proof to this
    /// exact transaction (its chain, `rk`, change ciphertext, merchant
    /// key…), so it cannot be reused in another.
    pub fn binding(&self) -> Fr {
        let mut body = vec![crate::ids::TX_VERSION, 7];
        self.encode_unproven(&mut body);
        field::hash_to_field(b"coalition/v2/redeem-binding", &[&body])
    }

    /// What the spend-authorization signature signs: the binding hash's 32
    /// canonical bytes (it covers every byte but the proof and the
    /// signature; the proof only re-randomizes, so nothing is left out
    /// that could change what the Redeem does).
    pub fn authorization_message(&self) -> [u8; 32] {
        authorization_message(&self.binding())
    }

    /// The Spend proof's public inputs.
    pub fn public_inputs(&self) -> SpendPublicInputs {
        SpendPublicInputs {
            root: self.root,
            nullifiers: self.nullifiers,
            change_commitment: self.change.commitment,
            asset: asset_id(&self.currency),
            value: self.value,
            merchant: merchant_field(&self.merchant.loyalty_id()),
            binding: self.binding(),
            rk: self.rk,
            epoch: self.epoch,
        }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        self.encode_unproven(out);
        self.proof.encode(out);
        self.spend_auth.encode(out);
    }

    pub(crate) fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RedeemTx {
            chain: ChainId::decode(reader)?,
            currency: CurrencyId::decode(reader)?,
            merchant: PublicIdentity::decode(reader)?,
            value: reader.u64("value")?,
            epoch: Epoch::decode(reader)?,
            root: TreeRoot::decode(reader)?,
            nullifiers: [Nullifier::decode(reader)?, Nullifier::decode(reader)?],
            rk: VerificationKey::decode(reader)?,
            change: NoteOutput::decode(reader)?,
            proof: Groth16Proof::decode(reader)?,
            spend_auth: SpendAuthSignature::decode(reader)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::decode_exact;

    #[test]
    fn epochs_round_trip_and_the_never_value_does_not_decode() {
        for epoch in [0, 7, u32::MAX - 1] {
            let bytes = Epoch(epoch).to_bytes();
            assert_eq!(bytes, epoch.to_le_bytes());
            assert_eq!(decode_exact::<Epoch>(&bytes).unwrap(), Epoch(epoch));
        }
        assert!(decode_exact::<Epoch>(&u32::MAX.to_le_bytes()).is_err());
        assert!(decode_exact::<Epoch>(&[1, 2, 3]).is_err());
    }
}
