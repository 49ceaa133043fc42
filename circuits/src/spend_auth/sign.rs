//! Signing.

use ark_ec::CurveGroup;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

use super::keys::{scalar_from_bytes, scalar_to_bytes, SigningKey};
use super::{challenge, hash_to_scalar, SpendAuthError};
use crate::babyjub;

/// `σ = R (32) ‖ S (32)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// `R`'s encoding.
    pub r: [u8; 32],
    /// `S`, little-endian.
    pub s: [u8; 32],
}

impl Signature {
    /// Encoded length.
    pub const LEN: usize = 64;

    /// `R ‖ S`.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r);
        out[32..].copy_from_slice(&self.s);
        out
    }

    /// Parses 64 bytes, refusing a non-canonical `R` or `S`, so a signature
    /// has exactly one encoding (what a wire decoder wants).
    pub fn from_canonical_bytes(bytes: &[u8; 64]) -> Result<Self, SpendAuthError> {
        let signature = Self::from_bytes(bytes);
        let _checked = signature.decode()?;
        Ok(signature)
    }

    /// Splits 64 bytes (checked when verified).
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        Signature { r, s }
    }

    /// `(R, S)` decoded: `R` any canonical point, `S < l`.
    pub(crate) fn decode(&self) -> Result<(babyjub::Point, babyjub::Scalar), SpendAuthError> {
        let r = babyjub::decode(&self.r).map_err(SpendAuthError::R)?;
        let s = scalar_from_bytes(&self.s).ok_or(SpendAuthError::NonCanonicalS)?;
        Ok((r, s))
    }
}

impl SigningKey {
    /// Signs `message`. The nonce is hashed from 80 fresh random bytes, the
    /// secret scalar, the key and the message (RedDSA's `T` plus the secret,
    /// as in EdDSA), so neither a predictable RNG nor a repeated `T` alone
    /// reveals the key: without the secret nobody can recompute `r`.
    pub fn sign<R: RngCore + CryptoRng>(&self, message: &[u8], rng: &mut R) -> Signature {
        let vk = self.verification_key().to_bytes();
        let mut t = [0u8; 80];
        rng.fill_bytes(&mut t);
        let mut secret = scalar_to_bytes(&self.0);
        let mut r = hash_to_scalar(b"nonce", &[&t, &secret, &vk, message]);
        t.zeroize();
        secret.zeroize();
        let big_r = babyjub::encode(&(babyjub::base() * r).into_affine());
        let c = challenge(&big_r, &vk, message);
        let s = r + c * self.0;
        r.zeroize();
        Signature {
            r: big_r,
            s: scalar_to_bytes(&s),
        }
    }
}
