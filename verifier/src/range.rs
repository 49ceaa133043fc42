//! Range-proof verification (spec §6.4).
//!
//! [`verify_range_single`] calls the `bulletproofs` crate's own verifier.
//! [`queue_range`] is our batched verifier over the crate's public proof
//! encoding (Bulletproofs paper §6.2): it replays the crate's transcript
//! exactly (`rangeproof v1`, `ipp v1` domain separators and labels), computes
//! the same "mega-check" scalars as the crate, multiplies them by a random
//! weight, and adds them to an [`Msm`] shared by the whole batch, so the
//! `2·n·m` generator terms are paid once per batch instead of once per proof.
//! Tests check it accepts and rejects exactly what the crate does.

use coalition_core::generators::{
    bulletproof_gens, pedersen_gens, MAX_RANGE_BITS, MAX_RANGE_PARTIES,
};
use coalition_core::proofs::RangeProof;
use coalition_core::transcript::TranscriptProtocol;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::errors::VerificationError;
use crate::msm::Msm;

fn check_shape(proof: &RangeProof, commitments: usize) -> Result<(), VerificationError> {
    let (n, m) = (proof.bits(), proof.parties());
    if m != commitments {
        return Err(VerificationError::MalformedStatement(
            "range proof aggregates another number of values",
        ));
    }
    if !matches!(n, 8 | 16 | 32 | 64)
        || !m.is_power_of_two()
        || m > MAX_RANGE_PARTIES
        || n > MAX_RANGE_BITS
    {
        return Err(VerificationError::MalformedStatement("range proof shape"));
    }
    Ok(())
}

/// Verifies one range proof with the `bulletproofs` crate's verifier.
pub fn verify_range_single<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    proof: &RangeProof,
    commitments: &[RistrettoPoint],
    rng: &mut R,
) -> Result<(), VerificationError> {
    check_shape(proof, commitments.len())?;
    let compressed: Vec<CompressedRistretto> = commitments.iter().map(|c| c.compress()).collect();
    proof
        .inner()
        .verify_multiple_with_rng(
            bulletproof_gens(),
            pedersen_gens(),
            transcript,
            &compressed,
            proof.bits(),
            rng,
        )
        .map_err(|_| VerificationError::RangeProof)
}

fn sum_of_powers(base: &Scalar, count: usize) -> Scalar {
    let mut sum = Scalar::ZERO;
    let mut power = Scalar::ONE;
    for _ in 0..count {
        sum += power;
        power *= base;
    }
    sum
}

/// `δ(y, z) = (z − z²)·⟨1, y^{nm}⟩ − Σ_j z^{j+3}·⟨1, 2^n⟩` (Bulletproofs §4.3).
fn delta(n: usize, m: usize, y: &Scalar, z: &Scalar) -> Scalar {
    let sum_y = sum_of_powers(y, n * m);
    let sum_2 = sum_of_powers(&Scalar::from(2u64), n);
    let sum_z = sum_of_powers(z, m);
    (z - z * z) * sum_y - z * z * z * sum_2 * sum_z
}

/// Replays one range proof's transcript and adds its weighted check to `msm`.
pub fn queue_range<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    proof: &RangeProof,
    commitments: &[RistrettoPoint],
    msm: &mut Msm,
    rng: &mut R,
) -> Result<(), VerificationError> {
    check_shape(proof, commitments.len())?;
    let (n, m) = (proof.bits(), proof.parties());
    let parts = proof.parts();

    // The crate's transcript, operation for operation.
    transcript.append_message(b"dom-sep", b"rangeproof v1");
    transcript.append_u64(b"n", n as u64);
    transcript.append_u64(b"m", m as u64);
    for v in commitments {
        transcript.append_point(b"V", v);
    }
    transcript.validate_and_append_point(b"A", parts.a.compressed())?;
    transcript.validate_and_append_point(b"S", parts.s.compressed())?;
    let y = transcript.challenge_scalar(b"y");
    let z = transcript.challenge_scalar(b"z");
    transcript.validate_and_append_point(b"T_1", parts.t_1.compressed())?;
    transcript.validate_and_append_point(b"T_2", parts.t_2.compressed())?;
    let x = transcript.challenge_scalar(b"x");
    transcript.append_scalar(b"t_x", &parts.t_x);
    transcript.append_scalar(b"t_x_blinding", &parts.t_x_blinding);
    transcript.append_scalar(b"e_blinding", &parts.e_blinding);
    let w = transcript.challenge_scalar(b"w");

    // Inner-product verification scalars.
    let nm = n * m;
    let rounds = parts.l_vec.len();
    if rounds != nm.trailing_zeros() as usize || parts.r_vec.len() != rounds {
        return Err(VerificationError::MalformedStatement(
            "inner-product round count",
        ));
    }
    transcript.append_message(b"dom-sep", b"ipp v1");
    transcript.append_u64(b"n", nm as u64);
    let mut u = Vec::with_capacity(rounds);
    for (l, r) in parts.l_vec.iter().zip(&parts.r_vec) {
        transcript.validate_and_append_point(b"L", l.compressed())?;
        transcript.validate_and_append_point(b"R", r.compressed())?;
        u.push(transcript.challenge_scalar(b"u"));
    }
    if u.contains(&Scalar::ZERO) {
        return Err(VerificationError::RangeProof);
    }
    let mut u_inv = u.clone();
    let all_inv = Scalar::batch_invert(&mut u_inv);
    let u_sq: Vec<Scalar> = u.iter().map(|ui| ui * ui).collect();
    let u_inv_sq: Vec<Scalar> = u_inv.iter().map(|ui| ui * ui).collect();
    let mut s = Vec::with_capacity(nm);
    s.push(all_inv);
    for i in 1..nm {
        let lg_i = (usize::BITS - 1 - i.leading_zeros()) as usize;
        let k = 1 << lg_i;
        s.push(s[i - k] * u_sq[(rounds - 1) - lg_i]);
    }

    // The weighted mega-check, as in the crate's `verify_multiple`, with our
    // own random `c` (combining its two checks) and batch weight `rho`.
    let c = Msm::weight(rng);
    let rho = Msm::weight(rng);
    let a = parts.ipp_a;
    let b = parts.ipp_b;
    let zz = z * z;
    let y_inv = y.invert();

    msm.push(rho, *parts.a.point());
    msm.push(rho * x, *parts.s.point());
    msm.push(rho * c * x, *parts.t_1.point());
    msm.push(rho * c * x * x, *parts.t_2.point());
    for ((l, r), (usq, uisq)) in parts
        .l_vec
        .iter()
        .zip(&parts.r_vec)
        .zip(u_sq.iter().zip(&u_inv_sq))
    {
        msm.push(rho * usq, *l.point());
        msm.push(rho * uisq, *r.point());
    }
    msm.add_h(rho * (-parts.e_blinding - c * parts.t_x_blinding));
    msm.add_g(rho * (w * (parts.t_x - a * b) + c * (delta(n, m, &y, &z) - parts.t_x)));

    // Generator coefficients, with ρ folded into the running factors so
    // each of the n·m terms costs four multiplications:
    //   ρ·g_k = −ρz − (ρa)·s_k
    //   ρ·h_k = ρz + (ρ·y^{−k})·(z²·z^j·2^i − b·s_{nm−1−k}),  k = j·n + i
    // (z²·z^j·2^i by doubling along i).
    let rho_z = rho * z;
    let rho_a = rho * a;
    let mut rho_exp_y_inv = rho;
    let mut zz_exp_z = zz;
    for j in 0..m {
        let mut zz_exp_z_exp_2 = zz_exp_z;
        for i in 0..n {
            let idx = j * n + i;
            msm.add_bp_g(j, i, -rho_z - rho_a * s[idx]);
            msm.add_bp_h(
                j,
                i,
                rho_z + rho_exp_y_inv * (zz_exp_z_exp_2 - b * s[nm - 1 - idx]),
            );
            rho_exp_y_inv *= y_inv;
            zz_exp_z_exp_2 += zz_exp_z_exp_2;
        }
        zz_exp_z *= z;
    }
    let mut exp_z = Scalar::ONE;
    for v in commitments {
        msm.push(rho * c * zz * exp_z, *v);
        exp_z *= z;
    }
    Ok(())
}

/// Verifies one range proof through the batched path (batch of one).
pub fn verify_range_batched<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    proof: &RangeProof,
    commitments: &[RistrettoPoint],
    rng: &mut R,
) -> Result<(), VerificationError> {
    let mut msm = Msm::new();
    queue_range(transcript, proof, commitments, &mut msm, rng)?;
    if msm.is_zero() {
        Ok(())
    } else {
        Err(VerificationError::RangeProof)
    }
}
