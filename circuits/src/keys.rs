//! The shielded key hierarchy (papers/protocol.md §3.4).
//!
//! ```text
//! seed ──SHA-512──▶ sk (spending key, 32 bytes)
//! sk ──▶ ask = H_F("coalition/v1/ask", sk)       authorization secret
//!     ──▶ nk  = H_F("coalition/v1/nk", sk)        nullifier key
//!     ──▶ ivk = SHA-512("coalition/v1/ivk", sk)   X25519 incoming viewing key
//! ak    = Poseidon_ak(ask)                         authorization key
//! owner = Poseidon_owner(ak, nk)                   the address's owner tag
//! address = (owner, pk_enc = X25519(ivk))
//! ```
//!
//! `H_F` is [`crate::field::hash_to_field`]. A note is spendable by whoever can
//! show `ask, nk` with `Poseidon_owner(Poseidon_ak(ask), nk) = owner` inside the
//! Spend circuit. The full viewing key `(ak, nk, ivk)` finds notes and tells
//! when they are spent but cannot spend: that needs `ask`.

use ark_bn254::Fr;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::field;
use crate::poseidon::{self, Domain};

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

    /// The authorization secret `ask`: never leaves the wallet except as a
    /// Spend witness.
    pub fn authorization_secret(&self) -> AuthorizationSecret {
        AuthorizationSecret(field::hash_to_field(b"coalition/v1/ask", &[&self.0]))
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
            ak: self.authorization_secret().authorization_key(),
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

/// `ask`, the secret behind the authorization key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AuthorizationSecret(pub(crate) Fr);

impl AuthorizationSecret {
    /// `ak = Poseidon_ak(ask)`.
    pub fn authorization_key(&self) -> AuthorizationKey {
        AuthorizationKey(poseidon::hash(Domain::AuthorizationKey, &[self.0]))
    }

    /// The scalar, for the Spend witness.
    pub fn to_field(&self) -> Fr {
        self.0
    }
}

impl std::fmt::Debug for AuthorizationSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthorizationSecret(<redacted>)")
    }
}

/// `ak`, public within the full viewing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthorizationKey(pub Fr);

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

/// `(ak, nk, ivk)`: sees incoming notes and their spends, cannot spend.
#[derive(Clone, Debug)]
pub struct FullViewingKey {
    /// Authorization key.
    pub ak: AuthorizationKey,
    /// Nullifier key.
    pub nk: NullifierKey,
    /// Incoming viewing key.
    pub ivk: IncomingViewingKey,
}

impl FullViewingKey {
    /// `owner = Poseidon_owner(ak, nk)`.
    pub fn owner(&self) -> Fr {
        owner_tag(self.ak.0, self.nk.0)
    }

    /// The payment address.
    pub fn address(&self) -> ShieldedAddress {
        ShieldedAddress {
            owner: self.owner(),
            transmission_key: self.ivk.transmission_key(),
        }
    }
}

/// `owner = Poseidon_owner(ak, nk)`, for an `ak` and `nk` given as field
/// elements (the Spend circuit's witness has them so).
pub fn owner_tag(ak: Fr, nk: Fr) -> Fr {
    poseidon::hash(Domain::Owner, &[ak, nk])
}

/// Where a note is sent: the owner tag committed in the note and the X25519
/// key its ciphertext is encrypted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShieldedAddress {
    /// `Poseidon_owner(ak, nk)`.
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
