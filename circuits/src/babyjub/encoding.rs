//! 32-byte point encoding: circomlib's `packPoint`, decoded strictly.
//!
//! ```text
//! bytes = y (32, little-endian, canonical) with bit 255 = [x > (p − 1)/2]
//! ```
//!
//! `y < p < 2^254`, so bit 255 is free for the sign of `x`. Decoding solves
//! `x² = (1 − y²)/(a − d·y²)` (the denominator never vanishes: `a/d` is not
//! a square) and picks the root with the encoded sign. Unlike circomlibjs's
//! `unpackPoint`, decoding refuses every non-canonical string, so each point
//! has exactly one encoding: `y ≥ p`, an `x²` that is not a square, and the
//! sign bit set on `x = 0` (whose only root is 0) are errors.

use ark_bn254::Fr as Base;
use ark_ec::twisted_edwards::TECurveConfig;
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, Field, PrimeField, Zero};
use thiserror::Error;

use super::curve::{BabyJubConfig, Point};
use crate::field;

/// Why 32 bytes are not the encoding of an acceptable point.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum PointError {
    /// `y ≥ p`.
    #[error("Baby Jubjub point: y is not a canonical field element")]
    NonCanonicalY,
    /// No point has this `y`.
    #[error("Baby Jubjub point: no point has this y")]
    NotOnCurve,
    /// The sign bit is set on `x = 0`.
    #[error("Baby Jubjub point: sign bit set on x = 0")]
    NonCanonicalSign,
    /// The point has a component outside the order-`l` subgroup.
    #[error("Baby Jubjub point: not in the prime-order subgroup")]
    NotInSubgroup,
    /// The identity, where a key or a signature needs a proper point.
    #[error("Baby Jubjub point: the identity")]
    Identity,
}

/// Whether `x` is "negative": its canonical integer exceeds `(p − 1)/2`.
fn is_negative(x: &Base) -> bool {
    x.into_bigint() > Base::MODULUS_MINUS_ONE_DIV_TWO
}

/// circomlib's `packPoint(P)`.
pub fn encode(point: &Point) -> [u8; 32] {
    let (x, y) = if point.is_zero() {
        (Base::ZERO, Base::ONE)
    } else {
        (point.x, point.y)
    };
    let mut out = field::to_bytes(&y);
    if is_negative(&x) {
        out[31] |= 0x80;
    }
    out
}

/// Any point of the curve (the whole group of order `8·l`), canonical
/// encodings only.
pub fn decode(bytes: &[u8; 32]) -> Result<Point, PointError> {
    let negative = bytes[31] & 0x80 != 0;
    let mut y_bytes = *bytes;
    y_bytes[31] &= 0x7f;
    let y = field::from_bytes(&y_bytes).map_err(|_| PointError::NonCanonicalY)?;
    let y2 = y.square();
    let denominator = BabyJubConfig::COEFF_A - BabyJubConfig::COEFF_D * y2;
    let x2 = (Base::ONE - y2) * denominator.inverse().ok_or(PointError::NotOnCurve)?;
    let root = x2.sqrt().ok_or(PointError::NotOnCurve)?;
    if root.is_zero() && negative {
        return Err(PointError::NonCanonicalSign);
    }
    let x = if is_negative(&root) == negative {
        root
    } else {
        -root
    };
    let point = Point::new_unchecked(x, y);
    debug_assert!(point.is_on_curve());
    Ok(point)
}

/// A point of the order-`l` subgroup other than the identity: what a public
/// key must be.
pub fn decode_prime_order(bytes: &[u8; 32]) -> Result<Point, PointError> {
    let point = decode(bytes)?;
    if !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(PointError::NotInSubgroup);
    }
    if point.is_zero() {
        return Err(PointError::Identity);
    }
    Ok(point)
}
