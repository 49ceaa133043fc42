//! Verification, one by one and in batches.
//!
//! A batch of `n` signatures is checked with independent random 128-bit
//! weights `z_i ≠ 0`:
//!
//! ```text
//! [8]·( [Σ z_i·S_i]·B − Σ [z_i]·R_i − Σ [z_i·c_i]·rk_i ) = 0
//! ```
//!
//! one multi-scalar multiplication of `2n + 1` points instead of `n`
//! separate checks of three multiplications each. Each signature's own
//! term `T_i = [8]([S_i]B − R_i − [c_i]rk_i)` lies in the order-`l`
//! subgroup; if some `T_j ≠ 0`, the weighted sum is zero for at most one
//! value of `z_j` mod `l` given the others, so a batch with a bad
//! signature passes with probability at most `2⁻¹²⁸`. A failed batch says
//! nothing of which signature failed: the caller re-checks one by one.

use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::Zero;
use rand_core::{CryptoRng, RngCore};

use super::keys::VerificationKey;
use super::sign::Signature;
use super::{challenge, SpendAuthError};
use crate::babyjub::{self, Point, PointError, ProjectivePoint, Scalar};

impl VerificationKey {
    /// Checks `signature` on `message` under this key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SpendAuthError> {
        self.check_proper()?;
        let (r, s) = signature.decode()?;
        let c = challenge(&signature.r, &self.bytes, message);
        let check = babyjub::base() * s - r.into_group() - self.point * c;
        if check.into_affine().mul_by_cofactor().is_zero() {
            Ok(())
        } else {
            Err(SpendAuthError::Invalid)
        }
    }
}

impl VerificationKey {
    /// Refuses the identity (a key [`VerificationKey::from_bytes`] never
    /// yields, but [`VerificationKey::randomize`] can with probability
    /// `1/l`).
    fn check_proper(&self) -> Result<(), SpendAuthError> {
        if self.point.is_zero() {
            return Err(SpendAuthError::Key(PointError::Identity));
        }
        Ok(())
    }
}

/// One signature of a batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// The randomized validating key.
    pub key: &'a VerificationKey,
    /// The signed message.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// Checks every item at once (see the module notes); `Ok` for an empty
/// batch. An error names no culprit: re-check one by one to find it.
pub fn verify_batch<R: RngCore + CryptoRng>(
    items: &[BatchItem<'_>],
    rng: &mut R,
) -> Result<(), SpendAuthError> {
    let mut bases: Vec<Point> = Vec::with_capacity(2 * items.len() + 1);
    let mut scalars: Vec<Scalar> = Vec::with_capacity(2 * items.len() + 1);
    let mut s_sum = Scalar::zero();
    for item in items {
        item.key.check_proper()?;
        let (r, s) = item.signature.decode()?;
        let c = challenge(&item.signature.r, &item.key.bytes, item.message);
        let z = loop {
            let mut bytes = [0u8; 16];
            rng.fill_bytes(&mut bytes);
            let z = u128::from_le_bytes(bytes);
            if z != 0 {
                break Scalar::from(z);
            }
        };
        s_sum += z * s;
        bases.push(r);
        scalars.push(-z);
        bases.push(item.key.point);
        scalars.push(-(z * c));
    }
    bases.push(babyjub::base());
    scalars.push(s_sum);
    let sum = ProjectivePoint::msm(&bases, &scalars).map_err(|_| SpendAuthError::Invalid)?;
    if sum.into_affine().mul_by_cofactor().is_zero() {
        Ok(())
    } else {
        Err(SpendAuthError::Invalid)
    }
}
