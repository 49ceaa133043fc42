//! The key hierarchy (spec §3).
//!
//! Everything a customer or partner holds is derived from one 32-byte [`Seed`]:
//!
//! ```text
//! s        = wide_reduce(SHA-512("coalition/v1/elgamal-secret" ‖ seed))   ElGamal secret, s ≠ 0
//! P        = s⁻¹·H                                                        ElGamal public key
//! sk_sig   = SHA-512("coalition/v1/ed25519-seed" ‖ seed)[0..32]           Ed25519 signing key seed
//! vk_sig   = Ed25519 public key of sk_sig
//! loyalty  = SHA-512("coalition/v1/loyalty-id" ‖ vk_sig ‖ P)[0..32]        loyalty ID
//! ```
//!
//! The loyalty ID is the hash of the public identity `(vk_sig, P)` — the
//! domain's "decentralised loyalty ID": anyone can check that an identity owns a
//! loyalty ID, nobody can pick an ID for someone else's keys.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::encoding::{Decode, Encode, Reader};
use crate::errors::{DecodeError, KeyError};
use crate::generators;

const SEED_TO_ELGAMAL: &[u8] = b"coalition/v1/elgamal-secret";
const SEED_TO_ED25519: &[u8] = b"coalition/v1/ed25519-seed";
const LOYALTY_ID: &[u8] = b"coalition/v1/loyalty-id";

/// The 32-byte root secret of a wallet or a partner. Zeroized on drop,
/// compared in constant time, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Seed([u8; 32]);

impl Seed {
    /// The shielded-pool spending key derived from this seed (spec §13.2).
    pub fn shielded_spending_key(&self) -> coalition_circuits::keys::SpendingKey {
        coalition_circuits::keys::SpendingKey::from_seed(&self.0)
    }

    /// A fresh seed from a cryptographic RNG (`OsRng` outside tests).
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A seed from its 32 bytes (e.g. read back from a wallet file).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The seed's bytes, for writing to a protected wallet file.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl ConstantTimeEq for Seed {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl core::fmt::Debug for Seed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

fn hash_with_domain(domain: &[u8], parts: &[&[u8]]) -> [u8; 64] {
    let mut hasher = Sha512::new();
    hasher.update(domain);
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The ElGamal secret `s` (spec §3). Non-zero; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ElGamalSecretKey(Scalar);

impl ElGamalSecretKey {
    /// Wraps a non-zero scalar.
    pub fn from_scalar(s: Scalar) -> Result<Self, KeyError> {
        if s == Scalar::ZERO {
            return Err(KeyError::ZeroSecretKey);
        }
        Ok(Self(s))
    }

    /// A random secret key.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        loop {
            let s = Scalar::random(rng);
            if s != Scalar::ZERO {
                return Self(s);
            }
        }
    }

    /// The secret scalar. Only provers and decryption use it.
    pub fn as_scalar(&self) -> &Scalar {
        &self.0
    }

    /// `P = s⁻¹·H`.
    pub fn public_key(&self) -> ElGamalPublicKey {
        let point = generators::mul_h(&self.0.invert());
        ElGamalPublicKey {
            compressed: point.compress(),
            point,
        }
    }
}

impl ConstantTimeEq for ElGamalSecretKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for ElGamalSecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}
impl Eq for ElGamalSecretKey {}

impl core::fmt::Debug for ElGamalSecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ElGamalSecretKey(<redacted>)")
    }
}

/// An ElGamal public key `P = s⁻¹·H`; never the identity. Keeps its
/// encoding: keys are encoded far more often (loyalty IDs, transcripts,
/// transactions) than created, and compression costs a field inversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElGamalPublicKey {
    point: RistrettoPoint,
    compressed: curve25519_dalek::ristretto::CompressedRistretto,
}

impl ElGamalPublicKey {
    /// Wraps a point, refusing the identity.
    pub fn from_point(point: RistrettoPoint) -> Result<Self, KeyError> {
        if point.is_identity() {
            return Err(KeyError::IdentityPublicKey);
        }
        Ok(Self {
            compressed: point.compress(),
            point,
        })
    }

    /// The point `P`.
    pub fn as_point(&self) -> &RistrettoPoint {
        &self.point
    }
}

impl Encode for ElGamalPublicKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.compressed.as_bytes());
    }
}

impl Decode for ElGamalPublicKey {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let what = "elgamal public key";
        let (point, compressed) = reader.point_with_encoding(what)?;
        if point.is_identity() {
            return Err(DecodeError::IdentityPoint { what });
        }
        Ok(Self { point, compressed })
    }
}

/// An Ed25519 verifying key, refusing weak (small-order) keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningPublicKey(VerifyingKey);

impl SigningPublicKey {
    /// Parses and validates 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidSigningKey)?;
        if key.is_weak() {
            return Err(KeyError::InvalidSigningKey);
        }
        Ok(Self(key))
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Strict Ed25519 verification (rejects non-canonical `R`/`s` and small-order keys).
    pub fn verify(&self, message: &[u8], signature: &TxSignature) -> Result<(), InvalidSignature> {
        self.0
            .verify_strict(message, &signature.0)
            .map_err(|_| InvalidSignature)
    }
}

impl Encode for SigningPublicKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0.as_bytes());
    }
}

impl Decode for SigningPublicKey {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes = reader.array::<32>("ed25519 public key")?;
        Self::from_bytes(&bytes).map_err(|_| DecodeError::Invalid {
            what: "ed25519 public key",
            reason: "not a valid, non-weak Ed25519 key",
        })
    }
}

/// A signature that does not verify under the expected key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid Ed25519 signature")]
pub struct InvalidSignature;

/// An Ed25519 signature over a transaction's signing message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxSignature(pub Signature);

impl Encode for TxSignature {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_bytes());
    }
}

impl Decode for TxSignature {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(Signature::from_bytes(
            &reader.array::<64>("signature")?,
        )))
    }
}

/// A public identity: the signing key and the ElGamal key of one holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicIdentity {
    /// Authorises transactions.
    pub signing: SigningPublicKey,
    /// Receives encrypted amounts.
    pub encryption: ElGamalPublicKey,
}

impl PublicIdentity {
    /// The loyalty ID owned by this identity.
    pub fn loyalty_id(&self) -> LoyaltyId {
        let mut enc = Vec::with_capacity(32);
        self.encryption.encode(&mut enc);
        let digest = hash_with_domain(LOYALTY_ID, &[&self.signing.to_bytes(), &enc]);
        let mut id = [0u8; 32];
        id.copy_from_slice(&digest[..32]);
        LoyaltyId(id)
    }
}

impl Encode for PublicIdentity {
    fn encode(&self, out: &mut Vec<u8>) {
        self.signing.encode(out);
        self.encryption.encode(out);
    }
}

impl Decode for PublicIdentity {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            signing: SigningPublicKey::decode(reader)?,
            encryption: ElGamalPublicKey::decode(reader)?,
        })
    }
}

/// A loyalty ID: `SHA-512("coalition/v1/loyalty-id" ‖ vk_sig ‖ P)[0..32]`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LoyaltyId(pub [u8; 32]);

impl core::fmt::Debug for LoyaltyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LoyaltyId({})", self)
    }
}

impl core::fmt::Display for LoyaltyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "loy1{}", hex::encode(&self.0[..16]))
    }
}

/// All the secret keys of one holder (customer or partner), derived from its seed.
pub struct IdentityKeys {
    signing: SigningKey,
    elgamal: ElGamalSecretKey,
    public: PublicIdentity,
}

impl IdentityKeys {
    /// Derives the key hierarchy from a seed (spec §3).
    pub fn from_seed(seed: &Seed) -> Self {
        let mut wide = hash_with_domain(SEED_TO_ELGAMAL, &[seed.expose_secret()]);
        let mut s = Scalar::from_bytes_mod_order_wide(&wide);
        wide.zeroize();
        if s == Scalar::ZERO {
            // Probability 2^-252; map to one so the derivation is total.
            s = Scalar::ONE;
        }
        let elgamal = ElGamalSecretKey(s);
        s.zeroize();
        let mut sig_seed_wide = hash_with_domain(SEED_TO_ED25519, &[seed.expose_secret()]);
        let mut sig_seed = [0u8; 32];
        sig_seed.copy_from_slice(&sig_seed_wide[..32]);
        let signing = SigningKey::from_bytes(&sig_seed);
        sig_seed.zeroize();
        sig_seed_wide.zeroize();
        let public = PublicIdentity {
            signing: SigningPublicKey(signing.verifying_key()),
            encryption: elgamal.public_key(),
        };
        Self {
            signing,
            elgamal,
            public,
        }
    }

    /// Fresh random keys (for partners' auxiliary keys and tests).
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self::from_seed(&Seed::random(rng))
    }

    /// The public identity.
    pub fn public(&self) -> &PublicIdentity {
        &self.public
    }

    /// The loyalty ID.
    pub fn loyalty_id(&self) -> LoyaltyId {
        self.public.loyalty_id()
    }

    /// The ElGamal secret key.
    pub fn elgamal_secret(&self) -> &ElGamalSecretKey {
        &self.elgamal
    }

    /// Signs a transaction's signing message.
    pub fn sign(&self, message: &[u8]) -> TxSignature {
        TxSignature(self.signing.sign(message))
    }
}

impl core::fmt::Debug for IdentityKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityKeys")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn derivation_is_deterministic_and_separates_seeds() {
        let a = IdentityKeys::from_seed(&Seed::from_bytes([7; 32]));
        let b = IdentityKeys::from_seed(&Seed::from_bytes([7; 32]));
        let c = IdentityKeys::from_seed(&Seed::from_bytes([8; 32]));
        assert_eq!(a.public(), b.public());
        assert_ne!(a.public(), c.public());
        assert_ne!(a.loyalty_id(), c.loyalty_id());
    }

    #[test]
    fn public_key_is_inverse_secret_times_h() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let keys = IdentityKeys::random(&mut rng);
        let s = keys.elgamal_secret().as_scalar();
        assert_eq!(s * keys.public().encryption.as_point(), generators::h());
    }

    #[test]
    fn identity_public_key_refused() {
        assert_eq!(
            ElGamalPublicKey::from_point(RistrettoPoint::default()),
            Err(KeyError::IdentityPublicKey)
        );
        let mut r = Reader::new(&[0u8; 32]);
        assert!(matches!(
            ElGamalPublicKey::decode(&mut r),
            Err(DecodeError::IdentityPoint { .. })
        ));
    }

    #[test]
    fn secrets_do_not_print() {
        let keys = IdentityKeys::from_seed(&Seed::from_bytes([9; 32]));
        let text = format!("{:?} {:?}", keys, Seed::from_bytes([9; 32]));
        assert!(!text.contains("0909"));
        assert!(text.contains("redacted") || !text.contains("elgamal"));
    }
}
