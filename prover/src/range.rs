//! Bulletproofs range proofs (spec §6.4), appended to the statement's
//! transcript after the sigma proofs, so the range proof's challenges depend on
//! the whole statement too.

use bulletproofs::RangeProof as BpRangeProof;
use coalition_core::elgamal::PedersenOpening;
use coalition_core::generators::{bulletproof_gens, pedersen_gens};
use coalition_core::proofs::RangeProof;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::errors::ProofError;

/// Proves each `values[i] ∈ [0, 2^bits)` for the commitment with opening
/// `openings[i]` (`None`: a zero pad with zero blinding, used by Exchange).
pub fn prove_range<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    values: &[u64],
    openings: &[Option<&PedersenOpening>],
    bits: usize,
    rng: &mut R,
) -> Result<RangeProof, ProofError> {
    let blindings: Vec<Scalar> = openings
        .iter()
        .map(|o| o.map(|o| *o.as_scalar()).unwrap_or(Scalar::ZERO))
        .collect();
    let (proof, _commitments) = BpRangeProof::prove_multiple_with_rng(
        bulletproof_gens(),
        pedersen_gens(),
        transcript,
        values,
        &blindings,
        bits,
        rng,
    )
    .map_err(|e| ProofError::RangeProof(e.to_string()))?;
    RangeProof::from_proof(proof, bits, values.len())
        .map_err(|e| ProofError::RangeProof(e.to_string()))
}
