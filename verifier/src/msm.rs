//! A multiscalar-multiplication accumulator.
//!
//! Every verification equation is rearranged to `Σ sᵢ·Pᵢ = 0`, multiplied by a
//! fresh random weight, and added here; the whole set is accepted iff the one
//! final multiscalar multiplication is the identity. A false equation survives
//! with probability ≈ 1/ℓ per check. Coefficients of the fixed generators
//! (`G`, `H` and the Bulletproof vectors) are summed in place, so a batch pays
//! for them once.

use coalition_core::generators::{g, h, vector_generators, MAX_RANGE_BITS, MAX_RANGE_PARTIES};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand_core::{CryptoRng, RngCore};

/// Accumulated terms of one or more verification equations.
#[derive(Debug, Clone)]
pub struct Msm {
    g: Scalar,
    h: Scalar,
    /// Coefficients of the Bulletproof generators `G_vec`, index `j·64 + i`;
    /// empty until a range proof is added (sigma-only checks never pay for them).
    bp_g: Vec<Scalar>,
    /// Coefficients of `H_vec`, same indexing and allocation rule.
    bp_h: Vec<Scalar>,
    scalars: Vec<Scalar>,
    points: Vec<RistrettoPoint>,
}

impl Default for Msm {
    fn default() -> Self {
        Self::new()
    }
}

impl Msm {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self {
            g: Scalar::ZERO,
            h: Scalar::ZERO,
            bp_g: Vec::new(),
            bp_h: Vec::new(),
            scalars: Vec::with_capacity(64),
            points: Vec::with_capacity(64),
        }
    }

    /// A random, non-zero equation weight.
    pub fn weight<R: RngCore + CryptoRng>(rng: &mut R) -> Scalar {
        loop {
            let w = Scalar::random(rng);
            if w != Scalar::ZERO {
                return w;
            }
        }
    }

    /// Adds `s·G`.
    pub fn add_g(&mut self, s: Scalar) {
        self.g += s;
    }

    /// Adds `s·H`.
    pub fn add_h(&mut self, s: Scalar) {
        self.h += s;
    }

    /// Adds `s·P` for an arbitrary point.
    pub fn push(&mut self, s: Scalar, p: RistrettoPoint) {
        self.scalars.push(s);
        self.points.push(p);
    }

    fn uses_vector_generators(&self) -> bool {
        !self.bp_g.is_empty()
    }

    fn allocate_vector_generators(&mut self) {
        if !self.uses_vector_generators() {
            let n = MAX_RANGE_BITS * MAX_RANGE_PARTIES;
            self.bp_g = vec![Scalar::ZERO; n];
            self.bp_h = vec![Scalar::ZERO; n];
        }
    }

    /// Adds `s` to the coefficient of Bulletproof generator `G_{party, i}`.
    pub fn add_bp_g(&mut self, party: usize, i: usize, s: Scalar) {
        self.allocate_vector_generators();
        self.bp_g[party * MAX_RANGE_BITS + i] += s;
    }

    /// Adds `s` to the coefficient of Bulletproof generator `H_{party, i}`.
    pub fn add_bp_h(&mut self, party: usize, i: usize, s: Scalar) {
        self.allocate_vector_generators();
        self.bp_h[party * MAX_RANGE_BITS + i] += s;
    }

    /// Merges another accumulator into this one.
    pub fn merge(&mut self, other: Msm) {
        self.g += other.g;
        self.h += other.h;
        if other.uses_vector_generators() {
            self.allocate_vector_generators();
            for (a, b) in self.bp_g.iter_mut().zip(other.bp_g) {
                *a += b;
            }
            for (a, b) in self.bp_h.iter_mut().zip(other.bp_h) {
                *a += b;
            }
        }
        self.scalars.extend(other.scalars);
        self.points.extend(other.points);
    }

    /// Number of variable points accumulated.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether nothing was accumulated.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
            && !self.uses_vector_generators()
            && self.g == Scalar::ZERO
            && self.h == Scalar::ZERO
    }

    /// Evaluates the sum; `true` iff it is the identity.
    pub fn is_zero(&self) -> bool {
        let gens = vector_generators();
        let fixed = [self.g, self.h];
        let fixed_points = [g(), h()];
        let result = if self.uses_vector_generators() {
            RistrettoPoint::vartime_multiscalar_mul(
                fixed
                    .iter()
                    .chain(self.bp_g.iter())
                    .chain(self.bp_h.iter())
                    .chain(self.scalars.iter()),
                fixed_points
                    .iter()
                    .chain(gens.g.iter())
                    .chain(gens.h.iter())
                    .chain(self.points.iter()),
            )
        } else {
            RistrettoPoint::vartime_multiscalar_mul(
                fixed.iter().chain(self.scalars.iter()),
                fixed_points.iter().chain(self.points.iter()),
            )
        };
        result.is_identity()
    }
}
