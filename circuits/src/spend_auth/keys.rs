//! Authorizing and validating keys, and their re-randomization.

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, UniformRand, Zero};
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::SpendAuthError;
use crate::babyjub::{self, Point, Scalar};

/// A signing scalar (`ask`, or `rsk = ask + α`); wiped on drop, never
/// printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SigningKey(pub(crate) Scalar);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// The key with scalar `s mod l` from 64 uniform bytes (a wide
    /// reduction, statistically uniform).
    pub fn from_wide_bytes(bytes: &[u8; 64]) -> Self {
        SigningKey(Scalar::from_le_bytes_mod_order(bytes))
    }

    /// A fresh uniform key (tests; wallets derive theirs from the seed).
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        loop {
            let s = Scalar::rand(rng);
            if !s.is_zero() {
                return SigningKey(s);
            }
        }
    }

    /// `[s]·B`.
    pub fn verification_key(&self) -> VerificationKey {
        VerificationKey::from_point((babyjub::base() * self.0).into_affine())
    }

    /// `s + α`: the key that signs for [`VerificationKey::randomize`].
    pub fn randomize(&self, alpha: &Randomizer) -> SigningKey {
        SigningKey(self.0 + alpha.0)
    }
}

/// A per-spend randomizer `α` (wiped on drop; a delegated prover is given
/// it, so it is secret from everyone else). No `PartialEq`: secrets are not
/// compared in variable time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Randomizer(pub(crate) Scalar);

impl std::fmt::Debug for Randomizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Randomizer(<redacted>)")
    }
}

impl Randomizer {
    /// A fresh uniform `α`.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Randomizer(Scalar::rand(rng))
    }

    /// The scalar (the Spend circuit's witness).
    pub fn scalar(&self) -> Scalar {
        self.0
    }

    /// 32 little-endian bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        scalar_to_bytes(&self.0)
    }

    /// Parses [`Self::to_bytes`], refusing values `≥ l`.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        scalar_from_bytes(bytes).map(Randomizer)
    }
}

/// A validating key: a point of the order-`l` subgroup, not the identity,
/// with its canonical encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerificationKey {
    pub(crate) point: Point,
    pub(crate) bytes: [u8; 32],
}

impl VerificationKey {
    fn from_point(point: Point) -> Self {
        VerificationKey {
            point,
            bytes: babyjub::encode(&point),
        }
    }

    /// Parses a canonical encoding of a point of the prime-order subgroup
    /// other than the identity.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SpendAuthError> {
        let point = babyjub::decode_prime_order(bytes).map_err(SpendAuthError::Key)?;
        Ok(VerificationKey {
            point,
            bytes: *bytes,
        })
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The point.
    pub fn point(&self) -> Point {
        self.point
    }

    /// `ak + [α]·B`. (The identity only for `α = −ask`, probability `1/l`
    /// for a uniform `α`; its encoding would be refused by
    /// [`Self::from_bytes`] and so by every node.)
    pub fn randomize(&self, alpha: &Randomizer) -> VerificationKey {
        let point = (self.point.into_group() + babyjub::base() * alpha.0).into_affine();
        VerificationKey::from_point(point)
    }
}

pub(crate) fn scalar_to_bytes(s: &Scalar) -> [u8; 32] {
    use ark_ff::BigInteger;
    let mut out = [0u8; 32];
    out.copy_from_slice(&s.into_bigint().to_bytes_le());
    out
}

/// 32 little-endian bytes as a scalar, refusing values `≥ l`.
pub(crate) fn scalar_from_bytes(bytes: &[u8; 32]) -> Option<Scalar> {
    let s = Scalar::from_le_bytes_mod_order(bytes);
    (scalar_to_bytes(&s) == *bytes).then_some(s)
}
