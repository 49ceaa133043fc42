//! Notes, note commitments and nullifiers.
//!
//! ```text
//! note = (asset, expiry, value, owner, ρ, rcm)
//! cm   = Poseidon_cm(asset + 2^64·expiry, value, owner, ρ, rcm)     width 6
//! nf   = Poseidon_nf(nk, ρ, cm)                                     width 4
//! ```
//!
//! (`Poseidon_D` is Poseidon with the domain tag `D` as capacity element,
//! [`crate::poseidon::Domain`].)
//!
//! `asset` is the currency symbol's 8 bytes read as a big-endian integer
//! (`< 2^64`), `expiry < 2^32` the last settlement epoch in which the note
//! may be spent ([`Expiry::NEVER`] = `2^32 − 1` for points that never
//! expire); the two share the first hash input, `asset + 2^64·expiry`, which
//! is injective on those ranges and costs no constraint. `value < 2^64`, `owner` is the recipient address's owner tag, `rcm` is
//! uniform randomness that makes `cm` hiding. `ρ` makes the nullifier unique:
//! a Shield's `ρ` is derived by every node from its (account, nonce) — never
//! chosen by the sender — and a Redeem's change note takes `ρ = nf₁`, the
//! first nullifier it reveals, which the nullifier set makes unique; the
//! ledger also refuses any `ρ` it has seen. Two notes to the same key
//! therefore never share a nullifier (no "faerie gold").
//!
//! # Why the nullifier covers `cm`
//!
//! With `nf = Poseidon(nk, ρ)` (pool v1) a nullifier was a function of the
//! key and of `ρ` alone, and `ρ` is public. Whoever held a victim's `nk` (a
//! viewing-key holder) could spend a note of its own under
//! `owner' = P(P(ask'), nk)` beside a *dummy* input (value 0, membership not
//! enforced) carrying the victim's `ρ`: the dummy's nullifier was the
//! victim's, the ledger recorded it, and the victim's note was frozen for
//! good. Keying the PRF over `(ρ, cm)` closes this: `cm` fixes the note's
//! asset, value, owner, `ρ` and `rcm`, and the circuit computes the
//! nullifier from the very commitment it proves (a member of the tree for a
//! real input). A dummy has value 0 and the spender's owner, so its `cm` —
//! and hence its nullifier — differs from any note of non-zero value or of
//! another owner, short of a Poseidon collision. The spec (§13.3, §13.7)
//! carries the argument.

use ark_bn254::Fr;
use ark_ff::UniformRand;
use rand_core::{CryptoRng, RngCore};

use crate::field::{self, NonCanonicalField};
use crate::keys::{NullifierKey, ShieldedAddress};
use crate::poseidon::{self, Domain};

macro_rules! field_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Fr);

        impl $name {
            /// Canonical little-endian 32 bytes.
            pub fn to_bytes(&self) -> [u8; 32] {
                field::to_bytes(&self.0)
            }

            /// Parses 32 bytes, refusing values `≥ p`.
            pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, NonCanonicalField> {
                field::from_bytes(bytes).map($name)
            }
        }
    };
}

field_newtype!(
    /// A note commitment: a leaf of the note tree.
    NoteCommitment
);
field_newtype!(
    /// A nullifier: revealed when the note is spent, stored forever.
    Nullifier
);
field_newtype!(
    /// A note's uniqueness seed `ρ`.
    Rho
);
field_newtype!(
    /// A note tree root.
    TreeRoot
);

/// The asset a note carries: the currency symbol as a big-endian integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AssetId(pub u64);

impl AssetId {
    /// As a field element.
    pub fn to_field(self) -> Fr {
        Fr::from(self.0)
    }
}

/// A settlement epoch: blocks `e·B + 1 ..= e·B + B` of a chain whose
/// settlement epoch is `B` blocks (spec §16.5). The pool's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch(pub u32);

impl Epoch {
    /// As a field element.
    pub fn to_field(self) -> Fr {
        Fr::from(u64::from(self.0))
    }
}

/// The last settlement epoch in which a note may be spent (a Spend proof
/// for epoch `t` accepts it only if `t ≤ expiry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expiry(pub u32);

impl Expiry {
    /// Points that never expire: no epoch number reaches `2^32 − 1` (the
    /// ledger refuses shielded transactions from that epoch on).
    pub const NEVER: Expiry = Expiry(u32::MAX);

    /// As a field element.
    pub fn to_field(self) -> Fr {
        Fr::from(u64::from(self.0))
    }

    /// Whether a note with this expiry may be spent in `epoch`.
    pub fn allows(self, epoch: Epoch) -> bool {
        epoch.0 <= self.0
    }

    /// The earlier of two expiries: a change note's ([`crate::spend`]).
    pub fn earliest(self, other: Expiry) -> Expiry {
        Expiry(self.0.min(other.0))
    }
}

/// The first input of a note commitment: `asset + 2^64·expiry`.
pub fn asset_tag(asset: AssetId, expiry: Expiry) -> Fr {
    asset.to_field() + expiry.to_field() * Fr::from(1u128 << 64)
}

/// A shielded note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Asset.
    pub asset: AssetId,
    /// The last epoch it may be spent in.
    pub expiry: Expiry,
    /// Value.
    pub value: u64,
    /// Recipient address.
    pub address: ShieldedAddress,
    /// Uniqueness seed.
    pub rho: Rho,
    /// Commitment randomness.
    pub rcm: Fr,
}

impl Note {
    /// A note to `address` with fresh commitment randomness.
    pub fn new<R: RngCore + CryptoRng>(
        asset: AssetId,
        expiry: Expiry,
        value: u64,
        address: ShieldedAddress,
        rho: Rho,
        rng: &mut R,
    ) -> Self {
        Note {
            asset,
            expiry,
            value,
            address,
            rho,
            rcm: Fr::rand(rng),
        }
    }

    /// `cm = Poseidon_cm(asset + 2^64·expiry, value, owner, ρ, rcm)`.
    pub fn commitment(&self) -> NoteCommitment {
        commit(
            self.asset,
            self.expiry,
            Fr::from(self.value),
            self.address.owner,
            self.rho,
            self.rcm,
        )
    }

    /// `nf = Poseidon_nf(nk, ρ, cm)`.
    pub fn nullifier(&self, nk: &NullifierKey) -> Nullifier {
        nullifier(nk.to_field(), self.rho, self.commitment())
    }
}

/// `cm = Poseidon_cm(asset + 2^64·expiry, value, owner, ρ, rcm)` from its
/// parts, with the value as a field element (tests build out-of-range notes
/// with it).
pub fn commit(
    asset: AssetId,
    expiry: Expiry,
    value: Fr,
    owner: Fr,
    rho: Rho,
    rcm: Fr,
) -> NoteCommitment {
    NoteCommitment(poseidon::hash(
        Domain::NoteCommitment,
        &[asset_tag(asset, expiry), value, owner, rho.0, rcm],
    ))
}

/// `nf = Poseidon_nf(nk, ρ, cm)`.
pub fn nullifier(nk: Fr, rho: Rho, commitment: NoteCommitment) -> Nullifier {
    Nullifier(poseidon::hash(
        Domain::Nullifier,
        &[nk, rho.0, commitment.0],
    ))
}

impl Rho {
    /// A fresh uniform `ρ` (for Shield outputs).
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Rho(Fr::rand(rng))
    }
}
