//! Spend authorization: a RedDSA-style Schnorr signature over Baby Jubjub
//! with re-randomizable keys (as Zcash's RedJubjub is over Jubjub).
//!
//! ```text
//! ask ∈ Z_l                 spend authorizing key (never leaves the wallet)
//! ak  = [ask]·B             spend validating key (in the full viewing key)
//! α   ∈ Z_l, fresh          per-spend randomizer
//! rsk = ask + α             randomized signing key
//! rk  = ak + [α]·B = [rsk]·B    randomized validating key (public in a Redeem)
//!
//! sign(rsk, M):   T ←$ 80 bytes;  r = H*("nonce", T ‖ rsk ‖ rk ‖ M);  R = [r]·B
//!                 c = H*("challenge", R ‖ rk ‖ M);  S = r + c·rsk
//!                 σ = R (32) ‖ S (32, little-endian, < l)
//! verify(rk, M, σ):  [8]·([S]·B − R − [c]·rk) = 0
//! ```
//!
//! `H*(label, x) = SHA-512(len ‖ "coalition/v2/spend-auth/" label ‖ x) mod l`
//! (512 bits reduced: statistically uniform). The verification equation is
//! the cofactored one, so single and batch verification accept exactly the
//! same signatures. `rk` must be a canonical encoding of a point of the
//! order-`l` subgroup other than the identity (verification refuses the
//! identity even for a key built in memory: under it any `R = [S]·B` would
//! verify); `R` any canonical point; `S` canonical (`< l`), which makes
//! signatures non-malleable.
//!
//! Why re-randomize: a Redeem reveals `rk`, not `ak`, and `rk` is uniform
//! and independent of `ak` for anyone who does not know `α`, so two Redeems
//! by one key are unlinkable through their keys. The Spend circuit proves
//! `rk = ak + [α]·B` for the `ak` the spent notes' owner tag commits to; the
//! signature proves knowledge of `rsk = ask + α`, i.e. of `ask`. A delegated
//! prover is given `ak, nk, α` and can make the proof, but not the
//! signature.
//!
//! Timing: the scalar multiplications here are arkworks' double-and-add,
//! which is not constant-time in the scalar. Signing happens in the wallet,
//! on the customer's device, once per Redeem; an attacker able to time it
//! precisely there is outside the threat model (spec §13.12, "Decisions
//! and limits").

mod keys;
mod sign;
mod verify;

pub use keys::{Randomizer, SigningKey, VerificationKey};
pub use sign::Signature;
pub use verify::{verify_batch, BatchItem};

use ark_ff::PrimeField;
use sha2::{Digest, Sha512};
use thiserror::Error;

use crate::babyjub::{PointError, Scalar};

/// Why a key or signature was refused.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum SpendAuthError {
    /// The validating key is not a proper point.
    #[error("spend authorization key: {0}")]
    Key(PointError),
    /// The signature's `R` is not a canonical point.
    #[error("spend authorization signature R: {0}")]
    R(PointError),
    /// The signature's `S` is not below `l`.
    #[error("spend authorization signature S is not canonical")]
    NonCanonicalS,
    /// The verification equation does not hold.
    #[error("spend authorization signature does not verify")]
    Invalid,
}

/// `c = H*("challenge", R ‖ rk ‖ M)`: what signing and both verifications
/// share.
pub(crate) fn challenge(r: &[u8; 32], key: &[u8; 32], message: &[u8]) -> Scalar {
    hash_to_scalar(b"challenge", &[r, key, message])
}

/// `H*(label, parts…)`: SHA-512 of the domain-separated input, reduced mod `l`.
pub(crate) fn hash_to_scalar(label: &[u8], parts: &[&[u8]]) -> Scalar {
    const PREFIX: &[u8] = b"coalition/v2/spend-auth/";
    let mut h = Sha512::new();
    h.update(((PREFIX.len() + label.len()) as u64).to_le_bytes());
    h.update(PREFIX);
    h.update(label);
    for part in parts {
        h.update(part);
    }
    Scalar::from_le_bytes_mod_order(&h.finalize())
}
