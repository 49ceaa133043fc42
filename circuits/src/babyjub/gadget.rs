//! Baby Jubjub in R1CS: a point is two wires `(x, y)`.
//!
//! | gadget | constraints |
//! |---|---|
//! | [`PointVar::new_witness`] (with the curve equation) | 4 |
//! | [`PointVar::add`] | 6 |
//! | [`fixed_base_mul`], `n` scalar bits (`w = ⌈n/3⌉` windows) | `3w + 6(w − 1)` |
//! | [`scalar_bits_witness`] | 252 (booleanity) |
//!
//! **Addition** (circomlib's `BabyAdd`): with `β = x₁y₂`, `γ = y₁x₂`,
//! `δ = (y₁ − a·x₁)(x₂ + y₂)`, `τ = βγ`,
//!
//! ```text
//! x₃ · (1 + d·τ) = β + γ
//! y₃ · (1 − d·τ) = δ + a·β − γ        ( = y₁y₂ − a·x₁x₂ )
//! ```
//!
//! The law is complete on this curve (`a` square, `d` not), so neither
//! denominator vanishes for points on the curve and the gadget has no
//! exceptional case: every input point that is on the curve — the only
//! kind the gadgets here produce or accept — gives the sum.
//!
//! **Fixed-base multiplication** by `k = Σ bᵢ·2ⁱ` splits the bits into
//! 3-bit windows `kⱼ = b₃ⱼ + 2·b₃ⱼ₊₁ + 4·b₃ⱼ₊₂` and adds the constants
//! `[kⱼ·8ʲ]·B`, each read from an 8-entry table of constants by a lookup:
//! with `b₀₁ = b₀·b₁` (1 constraint), a coordinate `c[k]` of the table is
//!
//! ```text
//! lo = c₀ + (c₁ − c₀)·b₀ + (c₂ − c₀)·b₁ + (c₃ − c₂ − c₁ + c₀)·b₀₁      (linear)
//! hi = the same over c₄…c₇                                               (linear)
//! out = lo + b₂·(hi − lo)                                                (1 constraint)
//! ```
//!
//! so a window costs 3 constraints and one addition. Entry 0 is the
//! identity `(0, 1)`, which the complete law adds like any point.

use ark_bn254::Fr;
use ark_ec::twisted_edwards::TECurveConfig;
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use super::curve::{BabyJubConfig, Point, ProjectivePoint, Scalar};

/// Bits of a scalar as the circuits take it: `l < 2^251`, rounded up to
/// whole 3-bit windows.
pub const SCALAR_BITS: usize = 252;

const A: Fr = BabyJubConfig::COEFF_A;
const D: Fr = BabyJubConfig::COEFF_D;

/// A point as two field wires (or constants). Only this module builds one,
/// and only on the curve: from a constant point, a witness checked against
/// the curve equation, or the sum or multiple of such points.
#[derive(Clone, Debug)]
pub struct PointVar {
    x: FpVar<Fr>,
    y: FpVar<Fr>,
}

/// Affine coordinates, with the identity as `(0, 1)`.
fn coordinates(point: &Point) -> (Fr, Fr) {
    if point.is_zero() {
        (Fr::ZERO, Fr::ONE)
    } else {
        (point.x, point.y)
    }
}

impl PointVar {
    /// A constant point (no wire, no constraint).
    pub fn constant(point: &Point) -> Self {
        let (x, y) = coordinates(point);
        PointVar {
            x: FpVar::constant(x),
            y: FpVar::constant(y),
        }
    }

    /// A witness point, constrained to lie on the curve (4 constraints).
    /// It may lie anywhere on the curve (order `8·l`): where the subgroup
    /// matters, the caller relates it to a point checked outside.
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        point: Option<&Point>,
    ) -> Result<Self, SynthesisError> {
        let xy = point.map(coordinates);
        let x = FpVar::new_witness(cs.clone(), || {
            xy.map(|c| c.0).ok_or(SynthesisError::AssignmentMissing)
        })?;
        let y = FpVar::new_witness(cs, || {
            xy.map(|c| c.1).ok_or(SynthesisError::AssignmentMissing)
        })?;
        let p = PointVar { x, y };
        p.enforce_on_curve()?;
        Ok(p)
    }

    /// `a·x² + y² = 1 + d·x²·y²`.
    pub fn enforce_on_curve(&self) -> Result<(), SynthesisError> {
        let x2 = self.x.square()?;
        let y2 = self.y.square()?;
        let x2y2 = &x2 * &y2;
        (x2 * A + y2).enforce_equal(&(x2y2 * D + Fr::ONE))
    }

    /// The sum (6 constraints; complete, see the module notes).
    pub fn add(&self, other: &Self) -> Result<Self, SynthesisError> {
        let beta = &self.x * &other.y;
        let gamma = &self.y * &other.x;
        let delta = (&self.y - &self.x * A) * (&other.x + &other.y);
        let tau = &beta * &gamma;
        let x_num = &beta + &gamma;
        let x_den = &tau * D + Fr::ONE;
        let y_num = &delta + &beta * A - &gamma;
        let y_den = FpVar::constant(Fr::ONE) - &tau * D;
        let x = quotient(&x_num, &x_den)?;
        let y = quotient(&y_num, &y_den)?;
        Ok(PointVar { x, y })
    }

    /// `x`.
    pub fn x(&self) -> &FpVar<Fr> {
        &self.x
    }

    /// `y`.
    pub fn y(&self) -> &FpVar<Fr> {
        &self.y
    }

    /// The point's value (none while only the shape is synthesized).
    pub fn value(&self) -> Result<Point, SynthesisError> {
        let (x, y) = (self.x.value()?, self.y.value()?);
        Ok(if x.is_zero() && y == Fr::ONE {
            Point::zero()
        } else {
            Point::new_unchecked(x, y)
        })
    }

    /// Both coordinates equal `other`'s.
    pub fn enforce_equal(&self, other: &Self) -> Result<(), SynthesisError> {
        self.x.enforce_equal(&other.x)?;
        self.y.enforce_equal(&other.y)
    }
}

/// `numerator / denominator` as a new wire `q` with `q · denominator =
/// numerator` (1 constraint; a constant when both are constants).
fn quotient(numerator: &FpVar<Fr>, denominator: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    if let (FpVar::Constant(n), FpVar::Constant(d)) = (numerator, denominator) {
        let inverse = d.inverse().ok_or(SynthesisError::DivisionByZero)?;
        return Ok(FpVar::constant(*n * inverse));
    }
    let cs = numerator.cs().or(denominator.cs());
    let q = FpVar::new_witness(cs, || {
        let inverse = denominator
            .value()?
            .inverse()
            .ok_or(SynthesisError::DivisionByZero)?;
        Ok(numerator.value()? * inverse)
    })?;
    q.mul_equals(denominator, numerator)?;
    Ok(q)
}

/// [`SCALAR_BITS`] boolean witnesses holding `scalar`, little-endian. The
/// bits are not range-checked against `l`: `k`, `k + l` and `k + 2l` (all
/// below `2^252`) give the same point, which is all a fixed-base product
/// uses them for. Do not hash or compare them as a scalar.
pub fn scalar_bits_witness(
    cs: ConstraintSystemRef<Fr>,
    scalar: Option<&Scalar>,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    let bits = scalar.map(|s| s.into_bigint().to_bits_le());
    (0..SCALAR_BITS)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                bits.as_ref()
                    .map(|b| b.get(i).copied().unwrap_or(false))
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect()
}

/// `[Σ bitsᵢ·2ⁱ]·base` for a constant `base`, by 3-bit windows (see the
/// module notes). `bits` is little-endian; a short last window is padded
/// with constant zeros.
pub fn fixed_base_mul(bits: &[Boolean<Fr>], base: &Point) -> Result<PointVar, SynthesisError> {
    let mut window_base = ProjectivePoint::from(*base);
    let mut acc: Option<PointVar> = None;
    for window in bits.chunks(3) {
        let b = |i: usize| window.get(i).cloned().unwrap_or(Boolean::FALSE);
        let table: Vec<(Fr, Fr)> = {
            let mut multiples = Vec::with_capacity(8);
            let mut m = ProjectivePoint::zero();
            for _ in 0..8 {
                multiples.push(m);
                m += window_base;
            }
            ProjectivePoint::normalize_batch(&multiples)
                .iter()
                .map(coordinates)
                .collect()
        };
        let looked_up = lookup3(&table, [b(0), b(1), b(2)])?;
        acc = Some(match acc {
            None => looked_up,
            Some(acc) => acc.add(&looked_up)?,
        });
        for _ in 0..3 {
            window_base.double_in_place();
        }
    }
    Ok(acc.unwrap_or_else(|| PointVar::constant(&Point::zero())))
}

/// `table[b₀ + 2b₁ + 4b₂]` for a table of 8 constant points (3 constraints).
fn lookup3(table: &[(Fr, Fr)], [b0, b1, b2]: [Boolean<Fr>; 3]) -> Result<PointVar, SynthesisError> {
    let f0 = FpVar::from(b0.clone());
    let f1 = FpVar::from(b1.clone());
    let f2 = FpVar::from(b2);
    let f01 = FpVar::from(b0 & b1);
    let coordinate = |c: [Fr; 8]| -> Result<FpVar<Fr>, SynthesisError> {
        let half = |c0: Fr, c1: Fr, c2: Fr, c3: Fr| {
            &f0 * (c1 - c0) + &f1 * (c2 - c0) + &f01 * (c3 - c2 - c1 + c0) + c0
        };
        let lo = half(c[0], c[1], c[2], c[3]);
        let hi = half(c[4], c[5], c[6], c[7]);
        Ok(&lo + &f2 * (hi - &lo))
    };
    let xs: [Fr; 8] = std::array::from_fn(|k| table[k].0);
    let ys: [Fr; 8] = std::array::from_fn(|k| table[k].1);
    Ok(PointVar {
        x: coordinate(xs)?,
        y: coordinate(ys)?,
    })
}
