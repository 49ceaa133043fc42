//! Poseidon over the BN254 scalar field with circomlib's parameters.
//!
//! # The permutation
//!
//! The state is `t` field elements. Each of `R_F + R_P` rounds does
//!
//! 1. **ARK**: `s_i ← s_i + c_{r,i}`;
//! 2. **S-box**: `s_i ← s_i⁵` on every element in the `R_F/2` first and last
//!    (full) rounds, on `s_0` only in the `R_P` middle (partial) rounds;
//! 3. **mix**: `s ← M·s` with a `t × t` MDS matrix.
//!
//! `x ↦ x⁵` is a permutation of `F_p` because `gcd(5, p − 1) = 1` for BN254.
//! `R_F = 8`; `R_P` depends on `t` (57 for `t = 3`) and gives the 128-bit
//! security margin of the Poseidon paper, table 2.
//!
//! # The hash
//!
//! circomlib's `Poseidon(n)` absorbs `n` inputs into a state of width
//! `t = n + 1` as `[0, x_1, …, x_n]`, permutes once and outputs `s_0`. The
//! protocol uses the same permutation with a domain tag in place of the
//! leading `0` ([`domain`]); circomlibjs computes it as `poseidon(x, tag)`.
//! Matching it exactly (constants, state layout, output element) is what lets
//! note commitments be recomputed by circom circuits and by circomlibjs.
//!
//! # In R1CS
//!
//! ARK and mix are linear and cost nothing; an S-box is three multiplication
//! constraints (`x² , x⁴, x⁵`). One `t = 3` hash is `3·(8·3 + 57) = 243`
//! constraints, less the 3 of the first round's S-box on the constant
//! capacity element.

pub mod domain;
pub mod gadget;
pub mod native;
pub mod params;

pub use domain::Domain;
pub use native::{circomlib_hash, hash};
