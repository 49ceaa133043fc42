//! Baby Jubjub's parameters, in circomlib's twisted Edwards form.
//!
//! ```text
//! E:  a·x² + y² = 1 + d·x²·y²   over F = BN254's scalar field
//!     a = 168700, d = 168696
//! #E = 8·l,  l = 2736030358979909402780800718157159386076813972158567259200215660948447373041
//! B  = Base8 = 8·G (circomlib's `Base8`), a generator of the order-l subgroup
//! ```
//!
//! `a` is a square and `d` is not, so the Edwards addition law is complete:
//! it has no exceptional inputs, natively or in-circuit (Bernstein–Lange,
//! "Twisted Edwards curves", Thm 3.3). arkworks' `ark-ed-on-bn254` is the
//! same curve written with `a = 1` (its `x` scaled by `√168700`); defining
//! circomlib's form directly keeps coordinates, encodings and test vectors
//! identical to circomlib's, with no map at the boundaries. The scalar field
//! is `ark-ed-on-bn254`'s (integers mod `l`).

use ark_bn254::Fr as Base;
use ark_ec::twisted_edwards::{Affine, MontCurveConfig, Projective, TECurveConfig};
use ark_ec::CurveConfig;
use ark_ff::MontFp;

/// Integers modulo the subgroup order `l`.
pub type Scalar = ark_ed_on_bn254::Fr;

/// A point in affine coordinates `(x, y)`, circomlib's.
pub type Point = Affine<BabyJubConfig>;

/// A point in extended projective coordinates (for arithmetic).
pub type ProjectivePoint = Projective<BabyJubConfig>;

/// circomlib's Baby Jubjub.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BabyJubConfig;

impl CurveConfig for BabyJubConfig {
    type BaseField = Base;
    type ScalarField = Scalar;

    const COFACTOR: &'static [u64] = &[8];

    /// `8⁻¹ mod l`.
    const COFACTOR_INV: Scalar =
        MontFp!("2394026564107420727433200628387514462817212225638746351800188703329891451411");
}

impl TECurveConfig for BabyJubConfig {
    const COEFF_A: Base = MontFp!("168700");
    const COEFF_D: Base = MontFp!("168696");
    const GENERATOR: Point = Point::new_unchecked(BASE8_X, BASE8_Y);
    type MontCurveConfig = BabyJubConfig;
}

/// The birationally equivalent Montgomery curve `B·v² = u³ + A·u² + u` with
/// `A = 2(a + d)/(a − d) = 168698` and `B = 4/(a − d) = 1`.
impl MontCurveConfig for BabyJubConfig {
    const COEFF_A: Base = MontFp!("168698");
    const COEFF_B: Base = MontFp!("1");
    type TECurveConfig = BabyJubConfig;
}

/// circomlib's `Base8`, `x`.
pub const BASE8_X: Base =
    MontFp!("5299619240641551281634865583518297030282874472190772894086521144482721001553");
/// circomlib's `Base8`, `y`.
pub const BASE8_Y: Base =
    MontFp!("16950150798460657717958625567821834550301663161624707787222815936182638968203");

/// circomlib's `Generator` (of the whole group, order `8·l`); `Base8` is
/// eight times it. Only tests use it: every protocol point is a multiple of
/// `Base8`.
pub const GENERATOR: Point = Point::new_unchecked(
    MontFp!("995203441582195749578291179787384436505546430278305826713579947235728471134"),
    MontFp!("5472060717959818805561601436314318772137091100104008585924551046643952123905"),
);

/// `B`, the generator of the prime-order subgroup.
pub fn base() -> Point {
    BabyJubConfig::GENERATOR
}
