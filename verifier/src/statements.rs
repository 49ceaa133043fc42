//! `verify(&statement, &proof)` for every proof type (spec §8), and the
//! batch verifier.
//!
//! Single verification: the sigma equations go into one multiscalar
//! multiplication, the range proof through the `bulletproofs` crate's own
//! verifier. Batch verification ([`BatchVerifier`]): every sigma equation and
//! every range proof of every statement go into one multiscalar multiplication
//! per worker thread; if a batch fails, [`verify_batch`] re-checks each item
//! alone to name the culprit.

use coalition_circuits::spend_auth::{self, Signature as SpendAuthSignature, VerificationKey};
use coalition_core::elgamal::{Ciphertext, PedersenCommitment};
use coalition_core::keys::ElGamalPublicKey;
use coalition_core::proofs::{
    DebitProof, EqualityProof, ExchangeProof, IssueProof, RangeProof, DEBIT_RANGE, EXCHANGE_RANGE,
    ISSUE_RANGE,
};
use coalition_core::shielded::{ShieldBalanceProof, ShieldStatement, SHIELD_RANGE};
use coalition_core::statements::{DebitStatement, ExchangeStatement, IssueStatement};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use merlin::Transcript;
use rand_core::{CryptoRng, OsRng, RngCore};
use rayon::prelude::*;

use crate::errors::VerificationError;
use crate::groth16::{verify_groth16, verify_groth16_batch, Groth16Item};
use crate::msm::Msm;
use crate::range::{queue_range, verify_range_single};
use crate::sigma::{verify_equality, verify_grouped_validity, verify_rate};

/// One statement with its proof, for batch verification.
#[derive(Clone, Copy, Debug)]
pub enum ProofItem<'a> {
    /// An `Issue`.
    Issue(&'a IssueStatement, &'a IssueProof),
    /// A `Transfer` or `Burn`.
    Debit(&'a DebitStatement, &'a DebitProof),
    /// An `Exchange`.
    Exchange(&'a ExchangeStatement, &'a ExchangeProof),
    /// A `Shield`: the account debit and the Output proof.
    Shield(&'a ShieldStatement, &'a ShieldBalanceProof, Groth16Item<'a>),
    /// A `Redeem`: the Spend proof and the spend-authorization signature.
    Redeem(Groth16Item<'a>, SpendAuthItem<'a>),
}

/// A `Redeem`'s spend-authorization signature with what it must verify
/// under (spec §13.9).
#[derive(Clone, Copy, Debug)]
pub struct SpendAuthItem<'a> {
    /// The re-randomized key `rk`, also a public input of the Spend proof.
    pub key: &'a VerificationKey,
    /// The signed message (the Redeem's binding hash).
    pub message: [u8; 32],
    /// The signature.
    pub signature: &'a SpendAuthSignature,
}

impl SpendAuthItem<'_> {
    fn verify(&self) -> Result<(), VerificationError> {
        self.key
            .verify(&self.message, self.signature)
            .map_err(|_| VerificationError::SpendAuthorization)
    }
}

impl<'a> ProofItem<'a> {
    /// The item's Groth16 part, if any.
    fn groth16(&self) -> Option<Groth16Item<'a>> {
        match *self {
            ProofItem::Shield(_, _, output) => Some(output),
            ProofItem::Redeem(spend, _) => Some(spend),
            _ => None,
        }
    }
}

/// An item whose sigma equations are queued and whose range proof is still
/// to be checked, on the transcript the sigma proofs left behind.
struct PendingRange<'i> {
    transcript: Transcript,
    proof: &'i RangeProof,
    commitments: Vec<RistrettoPoint>,
}

/// The equality proof that the debited balance `A − (C_a, D_0)` and the
/// new-balance commitment hold one value (Transfer, Burn, Exchange).
#[allow(clippy::too_many_arguments)]
fn verify_new_balance<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    owner: &ElGamalPublicKey,
    new_balance: Option<Ciphertext>,
    commitment: &PedersenCommitment,
    proof: &EqualityProof,
    msm: &mut Msm,
    rng: &mut R,
) -> Result<(), VerificationError> {
    let new_balance = new_balance.ok_or(VerificationError::MalformedStatement(
        "amount has no handle for the debited owner",
    ))?;
    verify_equality(transcript, owner, &new_balance, commitment, proof, msm, rng)
}

/// Replays the item's transcript through its sigma proofs, writing their
/// equations into `msm`, and returns the range proof still to check (`None`
/// for an item with no Ristretto part).
fn queue_sigma<'i, R: RngCore + CryptoRng>(
    item: &ProofItem<'i>,
    msm: &mut Msm,
    rng: &mut R,
) -> Result<Option<PendingRange<'i>>, VerificationError> {
    let (transcript, proof, commitments, expected) = match *item {
        ProofItem::Redeem(..) => return Ok(None),
        ProofItem::Shield(statement, proof, _) => {
            let mut t = statement.transcript();
            verify_equality(
                &mut t,
                &statement.source,
                &statement.new_balance_ciphertext(),
                &statement.new_balance,
                &proof.equality,
                msm,
                rng,
            )?;
            let commitments = vec![*statement.new_balance.as_point()];
            (t, &proof.range, commitments, SHIELD_RANGE)
        }
        ProofItem::Issue(statement, proof) => {
            let mut t = statement.transcript();
            verify_grouped_validity(
                &mut t,
                &statement.amount_keys(),
                &statement.amount,
                &proof.validity,
                msm,
                rng,
            )?;
            let commitments = vec![*statement.amount.commitment.as_point()];
            (t, &proof.range, commitments, ISSUE_RANGE)
        }
        ProofItem::Debit(statement, proof) => {
            let mut t = statement.transcript();
            verify_new_balance(
                &mut t,
                &statement.source,
                statement.new_balance_ciphertext(),
                &statement.new_balance,
                &proof.equality,
                msm,
                rng,
            )?;
            verify_grouped_validity(
                &mut t,
                &statement.amount_keys(),
                &statement.amount,
                &proof.validity,
                msm,
                rng,
            )?;
            // A Transfer's range is over `C_a − G`: it moves at least one
            // point (§8.4).
            let commitments = statement.range_commitments().to_vec();
            (t, &proof.range, commitments, DEBIT_RANGE)
        }
        ProofItem::Exchange(statement, proof) => {
            let mut t = statement.transcript();
            verify_new_balance(
                &mut t,
                &statement.owner,
                statement.new_balance_ciphertext(),
                &statement.new_balance,
                &proof.equality,
                msm,
                rng,
            )?;
            verify_grouped_validity(
                &mut t,
                &statement.from_keys(),
                &statement.amount_from,
                &proof.validity_from,
                msm,
                rng,
            )?;
            verify_grouped_validity(
                &mut t,
                &statement.to_keys(),
                &statement.amount_to,
                &proof.validity_to,
                msm,
                rng,
            )?;
            verify_rate(
                &mut t,
                statement.rate.numerator(),
                statement.rate.denominator(),
                &statement.amount_from.commitment,
                &statement.amount_to.commitment,
                &proof.rate,
                msm,
                rng,
            )?;
            let commitments = vec![
                *statement.amount_from.commitment.as_point(),
                *statement.new_balance.as_point(),
                *statement.amount_to.commitment.as_point(),
                // The zero pad: value 0, blinding 0.
                RistrettoPoint::identity(),
            ];
            (t, &proof.range, commitments, EXCHANGE_RANGE)
        }
    };
    // The shape is part of the statement: a 64-bit proof is no Issue proof.
    if (proof.bits(), proof.parties()) != expected {
        return Err(VerificationError::MalformedStatement(
            "range proof has another bit size or aggregation than the statement",
        ));
    }
    Ok(Some(PendingRange {
        transcript,
        proof,
        commitments,
    }))
}

/// Verifies one statement and proof: sigma proofs in one multiscalar
/// multiplication, range proof with the `bulletproofs` crate's verifier,
/// Groth16 proof with arkworks' verifier.
pub fn verify_item(item: &ProofItem<'_>) -> Result<(), VerificationError> {
    let mut rng = OsRng;
    let mut sigma = Msm::new();
    if let Some(mut range) = queue_sigma(item, &mut sigma, &mut rng)? {
        verify_range_single(
            &mut range.transcript,
            range.proof,
            &range.commitments,
            &mut rng,
        )?;
        if !sigma.is_zero() {
            return Err(VerificationError::SigmaProof);
        }
    }
    // The signature first: three scalar multiplications, against a pairing.
    if let ProofItem::Redeem(_, authorization) = item {
        authorization.verify()?;
    }
    if let Some(groth16) = item.groth16() {
        verify_groth16(&groth16)?;
    }
    Ok(())
}

/// Verifies an `Issue` proof.
pub fn verify_issue(
    statement: &IssueStatement,
    proof: &IssueProof,
) -> Result<(), VerificationError> {
    verify_item(&ProofItem::Issue(statement, proof))
}

/// Verifies a `Transfer` or `Burn` proof.
pub fn verify_debit(
    statement: &DebitStatement,
    proof: &DebitProof,
) -> Result<(), VerificationError> {
    verify_item(&ProofItem::Debit(statement, proof))
}

/// Verifies an `Exchange` proof.
pub fn verify_exchange(
    statement: &ExchangeStatement,
    proof: &ExchangeProof,
) -> Result<(), VerificationError> {
    verify_item(&ProofItem::Exchange(statement, proof))
}

/// Accumulates many statements into one multiscalar multiplication (their
/// Ristretto parts), one pairing check (their Groth16 parts) and one Baby
/// Jubjub multiscalar multiplication (their spend-authorization signatures).
#[derive(Debug, Default)]
pub struct BatchVerifier<'a> {
    msm: Msm,
    groth16: Vec<Groth16Item<'a>>,
    spend_auth: Vec<SpendAuthItem<'a>>,
    count: usize,
}

impl<'a> BatchVerifier<'a> {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replays the item's transcripts and folds its equations into the batch.
    /// Malformed items are refused here, before the final check.
    pub fn queue(&mut self, item: &ProofItem<'a>) -> Result<(), VerificationError> {
        let mut rng = OsRng;
        // A local accumulator, so an item refused half-way leaves the batch untouched.
        let mut local = Msm::new();
        if let Some(mut range) = queue_sigma(item, &mut local, &mut rng)? {
            queue_range(
                &mut range.transcript,
                range.proof,
                &range.commitments,
                &mut local,
                &mut rng,
            )?;
        }
        let groth16 = item.groth16();
        if let Some(g) = &groth16 {
            g.check_shape()?;
        }
        self.msm.merge(local);
        self.groth16.extend(groth16);
        if let ProofItem::Redeem(_, authorization) = item {
            self.spend_auth.push(*authorization);
        }
        self.count += 1;
        Ok(())
    }

    /// Number of queued items.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was queued.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Accepts iff every queued item verifies (except with probability
    /// ≈ 2^-128, the batches' 128-bit weights).
    pub fn verify(self) -> Result<(), VerificationError> {
        if !self.msm.is_zero() {
            return Err(VerificationError::Batch);
        }
        let signatures: Vec<spend_auth::BatchItem<'_>> = self
            .spend_auth
            .iter()
            .map(|a| spend_auth::BatchItem {
                key: a.key,
                message: &a.message,
                signature: a.signature,
            })
            .collect();
        spend_auth::verify_batch(&signatures, &mut OsRng).map_err(|_| VerificationError::Batch)?;
        verify_groth16_batch(&self.groth16, &mut OsRng).map_err(|_| VerificationError::Batch)
    }
}

/// The result of a failed batch: which item failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("item {index} of the batch failed: {error}")]
pub struct BatchError {
    /// Index of the first failing item.
    pub index: usize,
    /// Its error when verified alone.
    pub error: VerificationError,
}

/// Verifies many items at once, split across the available cores; on failure
/// names the first failing item.
pub fn verify_batch(items: &[ProofItem<'_>]) -> Result<(), BatchError> {
    if items.is_empty() {
        return Ok(());
    }
    let workers = rayon::current_num_threads().max(1);
    let chunk = items.len().div_ceil(workers).max(1);
    let all_ok = items.par_chunks(chunk).all(|chunk| {
        let mut batch = BatchVerifier::new();
        chunk.iter().all(|item| batch.queue(item).is_ok()) && batch.verify().is_ok()
    });
    if all_ok {
        return Ok(());
    }
    for (index, item) in items.iter().enumerate() {
        if let Err(error) = verify_item(item) {
            return Err(BatchError { index, error });
        }
    }
    // Unreachable except with probability ≈ 2^-128: the batch failed but
    // every item passed alone. Report it rather than accept.
    Err(BatchError {
        index: 0,
        error: VerificationError::Batch,
    })
}
