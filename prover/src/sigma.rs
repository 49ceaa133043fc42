//! The sigma protocols (spec §6.1–§6.3), made non-interactive over the
//! statement's merlin transcript. Each appends its domain separator and its
//! first-round points before drawing its challenge `c`.

use coalition_core::elgamal::{Ciphertext, PedersenOpening};
use coalition_core::generators::{commit, mul_h};
use coalition_core::keys::{ElGamalPublicKey, ElGamalSecretKey};
use coalition_core::proofs::{EqualityProof, GroupedValidityProof, ProofPoint, RateProof};
use coalition_core::transcript::{labels, TranscriptProtocol};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

/// Grouped-ciphertext validity (spec §6.1): the prover knows `(v, r)` with
/// `C = v·G + r·H` and `D_i = r·P_i` for each key in `keys`.
pub fn prove_grouped_validity<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    keys: &[ElGamalPublicKey],
    value: u64,
    opening: &PedersenOpening,
    rng: &mut R,
) -> GroupedValidityProof {
    transcript.domain_separator(labels::GROUPED_VALIDITY);
    let mut y_v = Scalar::random(rng);
    let mut y_r = Scalar::random(rng);
    let y_commitment = ProofPoint::new(commit(&y_v, &y_r));
    let y_handles: Vec<ProofPoint> = keys
        .iter()
        .map(|k| ProofPoint::new(y_r * k.as_point()))
        .collect();
    transcript.append_compressed(b"Y_0", y_commitment.compressed());
    for y in &y_handles {
        transcript.append_compressed(b"Y_i", y.compressed());
    }
    let c = transcript.challenge_scalar(b"c");
    let proof = GroupedValidityProof {
        y_commitment,
        y_handles,
        z_r: c * opening.as_scalar() + y_r,
        z_v: c * Scalar::from(value) + y_v,
    };
    transcript.append_scalar(b"z_r", &proof.z_r);
    transcript.append_scalar(b"z_v", &proof.z_v);
    y_v.zeroize();
    y_r.zeroize();
    proof
}

/// Ciphertext–commitment equality (spec §6.2): `ciphertext` (under `public`,
/// whose secret is `secret`) and the commitment with opening `opening` hold the
/// same `value`.
pub fn prove_equality<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    public: &ElGamalPublicKey,
    secret: &ElGamalSecretKey,
    ciphertext: &Ciphertext,
    value: u64,
    opening: &PedersenOpening,
    rng: &mut R,
) -> EqualityProof {
    transcript.domain_separator(labels::EQUALITY);
    let mut y_s = Scalar::random(rng);
    let mut y_x = Scalar::random(rng);
    let mut y_r = Scalar::random(rng);
    let y_0 = ProofPoint::new(y_s * public.as_point());
    let y_1 = ProofPoint::new(
        coalition_core::generators::mul_g(&y_x) + y_s * ciphertext.handle.as_point(),
    );
    let y_2 = ProofPoint::new(commit(&y_x, &y_r));
    transcript.append_compressed(b"Y_0", y_0.compressed());
    transcript.append_compressed(b"Y_1", y_1.compressed());
    transcript.append_compressed(b"Y_2", y_2.compressed());
    let c = transcript.challenge_scalar(b"c");
    let proof = EqualityProof {
        y_0,
        y_1,
        y_2,
        z_s: c * secret.as_scalar() + y_s,
        z_x: c * Scalar::from(value) + y_x,
        z_r: c * opening.as_scalar() + y_r,
    };
    transcript.append_scalar(b"z_s", &proof.z_s);
    transcript.append_scalar(b"z_x", &proof.z_x);
    transcript.append_scalar(b"z_r", &proof.z_r);
    y_s.zeroize();
    y_x.zeroize();
    y_r.zeroize();
    proof
}

/// Exchange rate (spec §6.3): knowledge of `w = q·r_y − p·r_x` with
/// `q·C_y − p·C_x = w·H`.
pub fn prove_rate<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    numerator: u32,
    denominator: u32,
    opening_x: &PedersenOpening,
    opening_y: &PedersenOpening,
    rng: &mut R,
) -> RateProof {
    transcript.domain_separator(labels::RATE);
    let mut w = Scalar::from(denominator) * opening_y.as_scalar()
        - Scalar::from(numerator) * opening_x.as_scalar();
    let mut y = Scalar::random(rng);
    let y_point = ProofPoint::new(mul_h(&y));
    transcript.append_compressed(b"Y", y_point.compressed());
    let c = transcript.challenge_scalar(b"c");
    let proof = RateProof {
        y: y_point,
        z: c * w + y,
    };
    transcript.append_scalar(b"z", &proof.z);
    w.zeroize();
    y.zeroize();
    proof
}
