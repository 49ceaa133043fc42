//! Verification equations of the sigma protocols (spec §6.1–§6.3).
//!
//! Each function replays the prover's transcript operations (domain separator,
//! first-round points, challenge, responses) and writes its equations, each
//! with a fresh random weight, into an [`Msm`]. Nothing is accepted until the
//! accumulator is evaluated.
//!
//! None of them absorbs its own statement (keys, ciphertexts, commitments,
//! rate): they rely on the transcript they are given having absorbed the
//! whole transaction statement first ([`crate::statements`]). Called on a
//! fresh transcript, a challenge would not depend on the statement and a
//! proof could be forged for a statement chosen after it (the "Frozen
//! Heart" weakness), so they are crate-private: the public entry points
//! take a whole statement.

use coalition_core::elgamal::{Ciphertext, GroupedCiphertext, PedersenCommitment};
use coalition_core::keys::ElGamalPublicKey;
use coalition_core::proofs::{EqualityProof, GroupedValidityProof, RateProof};
use coalition_core::transcript::{labels, TranscriptProtocol};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::errors::VerificationError;
use crate::msm::Msm;

/// Grouped-ciphertext validity (spec §6.1). Equations, with challenge `c`:
///
/// ```text
/// z_v·G + z_r·H = c·C + Y_0
/// z_r·P_i       = c·D_i + Y_i      for every handle i
/// ```
pub(crate) fn verify_grouped_validity<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    keys: &[ElGamalPublicKey],
    ciphertext: &GroupedCiphertext,
    proof: &GroupedValidityProof,
    msm: &mut Msm,
    rng: &mut R,
) -> Result<(), VerificationError> {
    if keys.len() != ciphertext.handles.len() || keys.len() != proof.y_handles.len() {
        return Err(VerificationError::MalformedStatement(
            "handle count differs between keys, ciphertext and proof",
        ));
    }
    transcript.domain_separator(labels::GROUPED_VALIDITY);
    transcript.validate_and_append_point(b"Y_0", proof.y_commitment.compressed())?;
    for y in &proof.y_handles {
        transcript.validate_and_append_point(b"Y_i", y.compressed())?;
    }
    let c = transcript.challenge_scalar(b"c");
    transcript.append_scalar(b"z_r", &proof.z_r);
    transcript.append_scalar(b"z_v", &proof.z_v);

    let w = Msm::weight(rng);
    msm.add_g(w * proof.z_v);
    msm.add_h(w * proof.z_r);
    msm.push(-(w * c), *ciphertext.commitment.as_point());
    msm.push(-w, *proof.y_commitment.point());
    for ((key, handle), y) in keys.iter().zip(&ciphertext.handles).zip(&proof.y_handles) {
        let w = Msm::weight(rng);
        msm.push(w * proof.z_r, *key.as_point());
        msm.push(-(w * c), *handle.as_point());
        msm.push(-w, *y.point());
    }
    Ok(())
}

/// Ciphertext–commitment equality (spec §6.2). Equations:
///
/// ```text
/// z_s·P              = c·H  + Y_0
/// z_x·G + z_s·D      = c·C  + Y_1
/// z_x·G + z_r·H      = c·C' + Y_2
/// ```
pub(crate) fn verify_equality<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    public: &ElGamalPublicKey,
    ciphertext: &Ciphertext,
    commitment: &PedersenCommitment,
    proof: &EqualityProof,
    msm: &mut Msm,
    rng: &mut R,
) -> Result<(), VerificationError> {
    transcript.domain_separator(labels::EQUALITY);
    transcript.validate_and_append_point(b"Y_0", proof.y_0.compressed())?;
    transcript.validate_and_append_point(b"Y_1", proof.y_1.compressed())?;
    transcript.validate_and_append_point(b"Y_2", proof.y_2.compressed())?;
    let c = transcript.challenge_scalar(b"c");
    transcript.append_scalar(b"z_s", &proof.z_s);
    transcript.append_scalar(b"z_x", &proof.z_x);
    transcript.append_scalar(b"z_r", &proof.z_r);

    let w0 = Msm::weight(rng);
    msm.push(w0 * proof.z_s, *public.as_point());
    msm.add_h(-(w0 * c));
    msm.push(-w0, *proof.y_0.point());

    let w1 = Msm::weight(rng);
    msm.add_g(w1 * proof.z_x);
    msm.push(w1 * proof.z_s, *ciphertext.handle.as_point());
    msm.push(-(w1 * c), *ciphertext.commitment.as_point());
    msm.push(-w1, *proof.y_1.point());

    let w2 = Msm::weight(rng);
    msm.add_g(w2 * proof.z_x);
    msm.add_h(w2 * proof.z_r);
    msm.push(-(w2 * c), *commitment.as_point());
    msm.push(-w2, *proof.y_2.point());
    Ok(())
}

/// Exchange rate (spec §6.3). Equation: `z·H = c·(q·C_y − p·C_x) + Y`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_rate<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    numerator: u32,
    denominator: u32,
    commitment_x: &PedersenCommitment,
    commitment_y: &PedersenCommitment,
    proof: &RateProof,
    msm: &mut Msm,
    rng: &mut R,
) -> Result<(), VerificationError> {
    transcript.domain_separator(labels::RATE);
    transcript.validate_and_append_point(b"Y", proof.y.compressed())?;
    let c = transcript.challenge_scalar(b"c");
    transcript.append_scalar(b"z", &proof.z);

    let w = Msm::weight(rng);
    msm.add_h(w * proof.z);
    msm.push(
        -(w * c * Scalar::from(denominator)),
        *commitment_y.as_point(),
    );
    msm.push(w * c * Scalar::from(numerator), *commitment_x.as_point());
    msm.push(-w, *proof.y.point());
    Ok(())
}
