//! Notes, note commitments and nullifiers.
//!
//! ```text
//! note = (asset, value, owner, ρ, rcm)
//! cm   = Poseidon([asset, value, owner, ρ, rcm])      circomlib Poseidon(5)
//! nf   = Poseidon([nk, ρ])                            circomlib Poseidon(2)
//! ```
//!
//! `asset` is the currency symbol's 8 bytes read as a big-endian integer,
//! `value < 2^64`, `owner` is the recipient address's owner tag, `rcm` is
//! uniform randomness that makes `cm` hiding. `ρ` makes the nullifier unique:
//! a Shield's `ρ` is derived by every node from its (account, nonce) — never
//! chosen by the sender — and a Redeem's change note takes `ρ = nf₁`, the
//! first nullifier it reveals, which the nullifier set makes unique; the
//! ledger also refuses any `ρ` it has seen. Two notes to the same key
//! therefore never share a nullifier (no "faerie gold").

use ark_bn254::Fr;
use ark_ff::UniformRand;
use rand_core::{CryptoRng, RngCore};

use crate::field::{self, NonCanonicalField};
use crate::keys::{NullifierKey, ShieldedAddress};
use crate::poseidon;

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

/// A shielded note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Asset.
    pub asset: AssetId,
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
        value: u64,
        address: ShieldedAddress,
        rho: Rho,
        rng: &mut R,
    ) -> Self {
        Note {
            asset,
            value,
            address,
            rho,
            rcm: Fr::rand(rng),
        }
    }

    /// `cm = Poseidon([asset, value, owner, ρ, rcm])`.
    pub fn commitment(&self) -> NoteCommitment {
        NoteCommitment(poseidon::hash(&[
            self.asset.to_field(),
            Fr::from(self.value),
            self.address.owner,
            self.rho.0,
            self.rcm,
        ]))
    }

    /// `nf = Poseidon([nk, ρ])`.
    pub fn nullifier(&self, nk: &NullifierKey) -> Nullifier {
        Nullifier(poseidon::hash2(nk.to_field(), self.rho.0))
    }
}

impl Rho {
    /// A fresh uniform `ρ` (for Shield outputs).
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Rho(Fr::rand(rng))
    }
}
