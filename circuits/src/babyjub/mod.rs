//! Baby Jubjub, the twisted Edwards curve over BN254's scalar field, in
//! circomlib's coordinates: natively ([`curve`], [`encoding`]) and as R1CS
//! gadgets ([`gadget`]), tested equal to each other and to circomlib's
//! published vectors.
//!
//! Its base field is the field the pool's circuits work in, so a point's
//! coordinates are two circuit wires and curve arithmetic costs a handful of
//! constraints per operation. It is the curve of the pool's spend
//! authorization ([`crate::spend_auth`]: `ak = [ask]·B`, re-randomized per
//! spend as `rk = ak + [α]·B`), which the Spend circuit takes up in the
//! next step of pool v2 (issue 19, part 2).

pub mod curve;
pub mod encoding;
pub mod gadget;

pub use curve::{base, BabyJubConfig, Point, ProjectivePoint, Scalar};
pub use encoding::{decode, decode_prime_order, encode, PointError};
