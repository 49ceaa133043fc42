//! Twisted ElGamal over Ristretto255 (spec §4).
//!
//! A value `v` encrypted to public keys `P_1..P_k` with randomness `r` is the
//! Pedersen commitment `C = v·G + r·H` together with one decrypt handle
//! `D_i = r·P_i` per key. The holder of `s_i` (with `P_i = s_i⁻¹·H`) computes
//! `C − s_i·D_i = C − r·H = v·G` and recovers `v` by a bounded discrete log
//! ([`crate::discrete_log`]). The commitment `C` is exactly a bulletproofs
//! value commitment, so range proofs apply to ciphertexts directly.
//!
//! Ciphertexts are additively homomorphic: `(C, D) + (C', D') = (C + C', D + D')`
//! encrypts `v + v'` under the same key.

use core::ops::{Add, Sub};

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::discrete_log::DecryptionTable;
use crate::encoding::{put_point, Decode, Encode, Reader};
use crate::errors::{DecodeError, DecryptionError};
use crate::generators;
use crate::keys::{ElGamalPublicKey, ElGamalSecretKey};

/// The randomness `r` of a commitment; secret, zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PedersenOpening(Scalar);

impl PedersenOpening {
    /// Fresh randomness.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(Scalar::random(rng))
    }

    /// Wraps a scalar (used when openings are combined homomorphically).
    pub fn from_scalar(r: Scalar) -> Self {
        Self(r)
    }

    /// The scalar `r`.
    pub fn as_scalar(&self) -> &Scalar {
        &self.0
    }
}

impl core::fmt::Debug for PedersenOpening {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PedersenOpening(<redacted>)")
    }
}

/// A point that remembers the bytes it was decoded from, so re-encoding a
/// received transaction (IDs, block roots, storage) costs no field
/// inversion; points computed by arithmetic are compressed when encoded.
/// Equality is the points' equality.
#[derive(Clone, Copy, Debug)]
struct WirePoint {
    point: RistrettoPoint,
    encoding: Option<CompressedRistretto>,
}

impl WirePoint {
    fn computed(point: RistrettoPoint) -> Self {
        WirePoint {
            point,
            encoding: None,
        }
    }

    /// Compresses a computed point once and keeps the encoding, so later
    /// encodings (state digests, storage records, cache keys) cost no
    /// inversion.
    fn remember_encoding(&mut self) {
        if self.encoding.is_none() {
            self.encoding = Some(self.point.compress());
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match &self.encoding {
            Some(c) => out.extend_from_slice(c.as_bytes()),
            None => put_point(out, &self.point),
        }
    }

    fn decode(reader: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError> {
        let (point, compressed) = reader.point_with_encoding(what)?;
        Ok(WirePoint {
            point,
            encoding: Some(compressed),
        })
    }
}

impl PartialEq for WirePoint {
    fn eq(&self, other: &Self) -> bool {
        match (&self.encoding, &other.encoding) {
            (Some(a), Some(b)) => a == b,
            _ => self.point == other.point,
        }
    }
}

impl Eq for WirePoint {}

/// A Pedersen commitment `C = v·G + r·H`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PedersenCommitment(WirePoint);

impl PedersenCommitment {
    /// Commits to `value` with `opening`.
    pub fn new(value: u64, opening: &PedersenOpening) -> Self {
        Self::from_point(generators::commit(
            &Scalar::from(value),
            opening.as_scalar(),
        ))
    }

    /// Wraps a point.
    pub fn from_point(point: RistrettoPoint) -> Self {
        Self(WirePoint::computed(point))
    }

    /// The point `C`.
    pub fn as_point(&self) -> &RistrettoPoint {
        &self.0.point
    }
}

/// A decrypt handle `D = r·P`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecryptHandle(WirePoint);

impl DecryptHandle {
    /// `r·P` for the commitment opening `r`.
    pub fn new(public: &ElGamalPublicKey, opening: &PedersenOpening) -> Self {
        Self::from_point(opening.as_scalar() * public.as_point())
    }

    /// Wraps a point.
    pub fn from_point(point: RistrettoPoint) -> Self {
        Self(WirePoint::computed(point))
    }

    /// The point `D`.
    pub fn as_point(&self) -> &RistrettoPoint {
        &self.0.point
    }
}

/// A single-key twisted-ElGamal ciphertext `(C, D)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    /// `C = v·G + r·H`.
    pub commitment: PedersenCommitment,
    /// `D = r·P`.
    pub handle: DecryptHandle,
}

impl Ciphertext {
    /// The encryption of zero with zero randomness: `(0, 0)`, every new balance.
    pub fn zero() -> Self {
        Self {
            commitment: PedersenCommitment::from_point(RistrettoPoint::identity()),
            handle: DecryptHandle::from_point(RistrettoPoint::identity()),
        }
    }

    /// Compresses both points now (if computed) and keeps their encodings:
    /// a balance is encoded several times after each change (state digest,
    /// storage record, proof-cache key), a compression each time otherwise.
    pub fn remember_encoding(&mut self) {
        self.commitment.0.remember_encoding();
        self.handle.0.remember_encoding();
    }

    /// Encrypts `value` to `public` with fresh randomness.
    pub fn encrypt<R: RngCore + CryptoRng>(
        public: &ElGamalPublicKey,
        value: u64,
        rng: &mut R,
    ) -> (Self, PedersenOpening) {
        let opening = PedersenOpening::random(rng);
        (Self::encrypt_with(public, value, &opening), opening)
    }

    /// Encrypts `value` to `public` with the given opening.
    pub fn encrypt_with(public: &ElGamalPublicKey, value: u64, opening: &PedersenOpening) -> Self {
        Self {
            commitment: PedersenCommitment::new(value, opening),
            handle: DecryptHandle::new(public, opening),
        }
    }

    /// `v·G = C − s·D`, the value "in the exponent".
    pub fn decrypt_to_point(&self, secret: &ElGamalSecretKey) -> RistrettoPoint {
        self.commitment.as_point() - secret.as_scalar() * self.handle.as_point()
    }

    /// Decrypts with a discrete-log table (bound: the table's, spec §4.2).
    pub fn decrypt(
        &self,
        secret: &ElGamalSecretKey,
        table: &DecryptionTable,
    ) -> Result<u64, DecryptionError> {
        table.solve(&self.decrypt_to_point(secret))
    }

    /// Checks that the ciphertext holds `expected` (O(1): a wallet that tracks
    /// its balance confirms it without a discrete log).
    pub fn decrypts_to(&self, secret: &ElGamalSecretKey, expected: u64) -> bool {
        self.decrypt_to_point(secret) == generators::mul_g(&Scalar::from(expected))
    }

    /// Subtracts a public amount: `(C − x·G, D)`.
    pub fn sub_amount(&self, amount: u64) -> Self {
        Self {
            commitment: PedersenCommitment::from_point(
                self.commitment.as_point() - Scalar::from(amount) * generators::g(),
            ),
            handle: self.handle,
        }
    }

    /// Adds a public amount: `(C + x·G, D)`.
    pub fn add_amount(&self, amount: u64) -> Self {
        Self {
            commitment: PedersenCommitment::from_point(
                self.commitment.as_point() + Scalar::from(amount) * generators::g(),
            ),
            handle: self.handle,
        }
    }
}

impl Add for Ciphertext {
    type Output = Ciphertext;
    fn add(self, rhs: Self) -> Self {
        Self {
            commitment: PedersenCommitment::from_point(
                self.commitment.as_point() + rhs.commitment.as_point(),
            ),
            handle: DecryptHandle::from_point(self.handle.as_point() + rhs.handle.as_point()),
        }
    }
}

impl Sub for Ciphertext {
    type Output = Ciphertext;
    fn sub(self, rhs: Self) -> Self {
        Self {
            commitment: PedersenCommitment::from_point(
                self.commitment.as_point() - rhs.commitment.as_point(),
            ),
            handle: DecryptHandle::from_point(self.handle.as_point() - rhs.handle.as_point()),
        }
    }
}

impl Encode for PedersenCommitment {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}
impl Decode for PedersenCommitment {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(WirePoint::decode(reader, "commitment")?))
    }
}
impl Encode for DecryptHandle {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
}
impl Decode for DecryptHandle {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(WirePoint::decode(reader, "decrypt handle")?))
    }
}
impl Encode for Ciphertext {
    fn encode(&self, out: &mut Vec<u8>) {
        self.commitment.encode(out);
        self.handle.encode(out);
    }
}
impl Decode for Ciphertext {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            commitment: PedersenCommitment::decode(reader)?,
            handle: DecryptHandle::decode(reader)?,
        })
    }
}

/// One amount encrypted to several keys with shared randomness:
/// `C = v·G + r·H`, handles `D_i = r·P_i`. Roles of the handles are fixed by
/// the transaction type (spec §8): e.g. Transfer is (source, destination, auditor?).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupedCiphertext {
    /// The shared commitment `C`.
    pub commitment: PedersenCommitment,
    /// Two handles, plus a third for the currency's auditor when it has one.
    pub handles: Vec<DecryptHandle>,
}

impl GroupedCiphertext {
    /// Encrypts `value` to every key in `keys` with one opening.
    pub fn encrypt_with(keys: &[ElGamalPublicKey], value: u64, opening: &PedersenOpening) -> Self {
        Self {
            commitment: PedersenCommitment::new(value, opening),
            handles: keys
                .iter()
                .map(|k| DecryptHandle::new(k, opening))
                .collect(),
        }
    }

    /// The single-key ciphertext for the key at `index`, if present.
    pub fn ciphertext(&self, index: usize) -> Option<Ciphertext> {
        self.handles.get(index).map(|handle| Ciphertext {
            commitment: self.commitment,
            handle: *handle,
        })
    }
}

/// Encoding: `C ‖ flag(auditor) ‖ D_0 ‖ D_1 [‖ D_2]`. Only 2 or 3 handles exist.
impl Encode for GroupedCiphertext {
    fn encode(&self, out: &mut Vec<u8>) {
        self.commitment.encode(out);
        out.push(u8::from(self.handles.len() == 3));
        for handle in &self.handles {
            handle.encode(out);
        }
    }
}

impl Decode for GroupedCiphertext {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let commitment = PedersenCommitment::decode(reader)?;
        let count = if reader.flag("auditor handle flag")? {
            3
        } else {
            2
        };
        let mut handles = Vec::with_capacity(count);
        for _ in 0..count {
            handles.push(DecryptHandle::decode(reader)?);
        }
        Ok(Self {
            commitment,
            handles,
        })
    }
}
