//! The shielded key hierarchy (papers/protocol.md §13.2).
//!
//! ```text
//! seed ──SHA-512──▶ sk (spending key, 32 bytes)
//! sk ──▶ ask = SHA-512("coalition/v2/ask" ‖ sk) mod l   spend authorizing key (Baby Jubjub scalar)
//!     ──▶ nk  = H_F("coalition/v1/nk", sk)              nullifier key
//!     ──▶ ivk = SHA-512("coalition/v1/ivk", sk)         X25519 incoming viewing key
//! ak    = [ask]·B                                        spend validating key (Baby Jubjub point)
//! owner = Poseidon_owner(ak.x, ak.y, nk)                 the address's owner tag
//! address = (owner, pk_enc = X25519(ivk))
//! ```
//!
//! `H_F` is [`crate::field::hash_to_field`]. Authority is split as in
//! Sapling and Orchard:
//!
//! * the **proof generation key** `(ak, nk)` is enough to prove a spend of
//!   the owner's notes (the Spend circuit proves `owner` from `ak, nk` and a
//!   re-randomized `rk = ak + [α]·B`), so a delegated prover can be given
//!   it;
//! * the spend is **authorized** only by a signature under `rk`, which takes
//!   `rsk = ask + α` ([`crate::spend_auth`]): `ask` never leaves the wallet;
//! * the **full viewing key** `(ak, nk, ivk)` finds notes and tells when
//!   they are spent; it can prove but never authorize.

use ark_bn254::Fr;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::babyjub::Point;
use crate::field;
use crate::poseidon::{self, Domain};
use crate::spend_auth::{SigningKey, VerificationKey};

/// The root shielded secret, derived from the wallet's 32-byte seed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SpendingKey([u8; 32]);

impl SpendingKey {
    /// `sk = SHA-512("coalition/v1/shielded-spending-key" ‖ seed)[..32]`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mut hasher = Sha512::new();
        hasher.update(b"coalition/v1/shielded-spending-key");
        hasher.update(seed);
        let digest = hasher.finalize();
        let mut sk = [0u8; 32];
        sk.copy_from_slice(&digest[..32]);
        SpendingKey(sk)
    }

    /// The spend authorizing key `ask` (a Baby Jubjub scalar): signs the
    /// wallet's Redeems and never leaves the wallet.
    pub fn spend_authorizing_key(&self) -> SigningKey {
        let mut hasher = Sha512::new();
        hasher.update(b"coalition/v2/ask");
        hasher.update(self.0);
        let mut digest: [u8; 64] = hasher.finalize().into();
        let ask = SigningKey::from_wide_bytes(&digest);
        digest.zeroize();
        ask
    }

    /// `(ak, nk)`: what proving a spend needs, and what a delegated prover
    /// is given (with a fresh `α` per spend).
    pub fn proof_generation_key(&self) -> ProofGenerationKey {
        ProofGenerationKey {
            ak: self.spend_authorizing_key().verification_key(),
            nk: self.nullifier_key(),
        }
    }

    /// The nullifier key `nk`.
    pub fn nullifier_key(&self) -> NullifierKey {
        NullifierKey(field::hash_to_field(b"coalition/v1/nk", &[&self.0]))
    }

    /// The X25519 incoming viewing key that decrypts notes sent to us.
    pub fn incoming_viewing_key(&self) -> IncomingViewingKey {
        let mut hasher = Sha512::new();
        hasher.update(b"coalition/v1/ivk");
        hasher.update(self.0);
        let mut digest = hasher.finalize();
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&digest[..32]);
        digest.as_mut_slice().zeroize();
        let ivk = IncomingViewingKey(StaticSecret::from(bytes));
        bytes.zeroize();
        ivk
    }

    /// The full viewing key.
    pub fn full_viewing_key(&self) -> FullViewingKey {
        FullViewingKey {
            ak: self.spend_authorizing_key().verification_key(),
            nk: self.nullifier_key(),
            ivk: self.incoming_viewing_key(),
        }
    }

    /// This key's payment address.
    pub fn address(&self) -> ShieldedAddress {
        self.full_viewing_key().address()
    }
}

impl PartialEq for SpendingKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SpendingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpendingKey(<redacted>)")
    }
}

/// `(ak, nk)`: proves spends of this key's notes, cannot authorize them.
#[derive(Clone, Debug)]
pub struct ProofGenerationKey {
    /// The spend validating key.
    pub ak: VerificationKey,
    /// The nullifier key.
    pub nk: NullifierKey,
}

impl ProofGenerationKey {
    /// `owner = Poseidon_owner(ak.x, ak.y, nk)`.
    pub fn owner(&self) -> Fr {
        owner_tag(&self.ak, &self.nk)
    }
}

/// `nk`: keys the nullifier PRF `nf = Poseidon_nf(nk, ρ, cm)`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct NullifierKey(pub(crate) Fr);

impl NullifierKey {
    /// The scalar, for the Spend witness.
    pub fn to_field(&self) -> Fr {
        self.0
    }
}

impl std::fmt::Debug for NullifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NullifierKey(<redacted>)")
    }
}

/// The X25519 secret that decrypts incoming notes.
#[derive(Clone)]
pub struct IncomingViewingKey(pub(crate) StaticSecret);

impl IncomingViewingKey {
    /// `pk_enc`, the address's transmission key.
    pub fn transmission_key(&self) -> [u8; 32] {
        PublicKey::from(&self.0).to_bytes()
    }
}

impl std::fmt::Debug for IncomingViewingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IncomingViewingKey(<redacted>)")
    }
}

/// `(ak, nk, ivk)`: sees incoming notes and their spends, can prove but
/// never authorize a spend.
#[derive(Clone, Debug)]
pub struct FullViewingKey {
    /// Spend validating key.
    pub ak: VerificationKey,
    /// Nullifier key.
    pub nk: NullifierKey,
    /// Incoming viewing key.
    pub ivk: IncomingViewingKey,
}

impl FullViewingKey {
    /// `owner = Poseidon_owner(ak.x, ak.y, nk)`.
    pub fn owner(&self) -> Fr {
        owner_tag(&self.ak, &self.nk)
    }

    /// The payment address.
    pub fn address(&self) -> ShieldedAddress {
        ShieldedAddress {
            owner: self.owner(),
            transmission_key: self.ivk.transmission_key(),
        }
    }
}

/// `owner = Poseidon_owner(ak.x, ak.y, nk)`: both coordinates of `ak`, so
/// the tag commits to the point itself (not to `±ak`).
pub fn owner_tag(ak: &VerificationKey, nk: &NullifierKey) -> Fr {
    owner_tag_of(&ak.point(), nk.0)
}

/// [`owner_tag`] of a point and a nullifier key given as a field element
/// (tests build owner tags of arbitrary points with it).
pub fn owner_tag_of(ak: &Point, nk: Fr) -> Fr {
    poseidon::hash(Domain::Owner, &[ak.x, ak.y, nk])
}

/// Where a note is sent: the owner tag committed in the note and the X25519
/// key its ciphertext is encrypted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShieldedAddress {
    /// `Poseidon_owner(ak.x, ak.y, nk)`.
    pub owner: Fr,
    /// X25519 public key `pk_enc`.
    pub transmission_key: [u8; 32],
}

impl ShieldedAddress {
    /// Encoded length.
    pub const LEN: usize = 64;

    /// `owner (32, canonical LE) ‖ pk_enc (32)`.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..32].copy_from_slice(&field::to_bytes(&self.owner));
        out[32..].copy_from_slice(&self.transmission_key);
        out
    }

    /// Parses [`Self::to_bytes`], refusing a non-canonical owner.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Result<Self, field::NonCanonicalField> {
        let owner = field::from_bytes(bytes[..32].try_into().expect("32 bytes"))?;
        let mut transmission_key = [0u8; 32];
        transmission_key.copy_from_slice(&bytes[32..]);
        Ok(ShieldedAddress {
            owner,
            transmission_key,
        })
    }
}
