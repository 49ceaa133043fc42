//! Fiat–Shamir transcripts (spec §7).
//!
//! Every proof runs over a merlin transcript created with a label that names the
//! protocol and its version (`coalition.transfer.v2`, …). The statement —
//! **every** public element — is absorbed before the first challenge (the
//! "weak Fiat–Shamir"/Frozen Heart bugs came from skipping this). Each
//! sub-proof then appends its own `dom-sep` message, its first-round
//! commitments, and only then draws its challenge. All operations go through
//! [`TranscriptProtocol`] so they are named in one place.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use merlin::Transcript;

use crate::elgamal::{Ciphertext, GroupedCiphertext, PedersenCommitment};
use crate::keys::ElGamalPublicKey;

/// Merlin labels: the top-level transcript of each statement, and the
/// `dom-sep` messages of the sub-proofs.
pub mod labels {
    /// `Issue` (spec §8.3).
    pub const ISSUE: &[u8] = b"coalition.issue.v1";
    /// `Transfer` (spec §8.4).
    pub const TRANSFER: &[u8] = b"coalition.transfer.v2";
    /// `Burn` (spec §8.6).
    pub const BURN: &[u8] = b"coalition.burn.v1";
    /// `Exchange` (spec §8.7).
    pub const EXCHANGE: &[u8] = b"coalition.exchange.v1";
    /// `Shield`'s account debit (spec §13.5).
    pub const SHIELD: &[u8] = b"coalition.shield.v2";
    /// Grouped-ciphertext validity sub-proof (spec §6.1).
    pub const GROUPED_VALIDITY: &[u8] = b"coalition.grouped-validity.v1";
    /// Ciphertext–commitment equality sub-proof (spec §6.2).
    pub const EQUALITY: &[u8] = b"coalition.ciphertext-commitment-equality.v1";
    /// Exchange-rate sub-proof (spec §6.3).
    pub const RATE: &[u8] = b"coalition.exchange-rate.v1";
}

/// A point appended to a transcript was the identity where that is forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("identity point in proof element {0}")]
pub struct IdentityInTranscript(pub &'static str);

/// Named transcript operations for every Coalition protocol.
pub trait TranscriptProtocol {
    /// Appends a sub-protocol domain separator.
    fn domain_separator(&mut self, label: &'static [u8]);
    /// Appends a point (any point, identity allowed).
    fn append_point(&mut self, label: &'static [u8], point: &RistrettoPoint);
    /// Appends an already-compressed point.
    fn append_compressed(&mut self, label: &'static [u8], point: &CompressedRistretto);
    /// Appends a point after checking it is not the identity.
    fn validate_and_append_point(
        &mut self,
        label: &'static [u8],
        point: &CompressedRistretto,
    ) -> Result<(), IdentityInTranscript>;
    /// Appends a scalar.
    fn append_scalar(&mut self, label: &'static [u8], scalar: &Scalar);
    /// Appends a public key.
    fn append_public_key(&mut self, label: &'static [u8], key: &ElGamalPublicKey);
    /// Appends an optional public key: a presence flag, then the key.
    fn append_optional_key(&mut self, label: &'static [u8], key: Option<&ElGamalPublicKey>);
    /// Appends a commitment.
    fn append_commitment(&mut self, label: &'static [u8], commitment: &PedersenCommitment);
    /// Appends a single-key ciphertext `(C, D)`.
    fn append_ciphertext(&mut self, label: &'static [u8], ciphertext: &Ciphertext);
    /// Appends a grouped ciphertext: its handle count, `C`, then each `D_i`.
    fn append_grouped_ciphertext(&mut self, label: &'static [u8], ciphertext: &GroupedCiphertext);
    /// Draws a challenge scalar (64 bytes reduced mod ℓ).
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar;
}

impl TranscriptProtocol for Transcript {
    fn domain_separator(&mut self, label: &'static [u8]) {
        self.append_message(b"dom-sep", label);
    }

    fn append_point(&mut self, label: &'static [u8], point: &RistrettoPoint) {
        self.append_message(label, point.compress().as_bytes());
    }

    fn append_compressed(&mut self, label: &'static [u8], point: &CompressedRistretto) {
        self.append_message(label, point.as_bytes());
    }

    fn validate_and_append_point(
        &mut self,
        label: &'static [u8],
        point: &CompressedRistretto,
    ) -> Result<(), IdentityInTranscript> {
        if point.is_identity() {
            return Err(IdentityInTranscript(
                core::str::from_utf8(label).unwrap_or("point"),
            ));
        }
        self.append_message(label, point.as_bytes());
        Ok(())
    }

    fn append_scalar(&mut self, label: &'static [u8], scalar: &Scalar) {
        self.append_message(label, scalar.as_bytes());
    }

    fn append_public_key(&mut self, label: &'static [u8], key: &ElGamalPublicKey) {
        self.append_point(label, key.as_point());
    }

    fn append_optional_key(&mut self, label: &'static [u8], key: Option<&ElGamalPublicKey>) {
        match key {
            Some(key) => {
                self.append_u64(label, 1);
                self.append_public_key(label, key);
            }
            None => self.append_u64(label, 0),
        }
    }

    fn append_commitment(&mut self, label: &'static [u8], commitment: &PedersenCommitment) {
        self.append_point(label, commitment.as_point());
    }

    fn append_ciphertext(&mut self, label: &'static [u8], ciphertext: &Ciphertext) {
        self.append_point(label, ciphertext.commitment.as_point());
        self.append_point(label, ciphertext.handle.as_point());
    }

    fn append_grouped_ciphertext(&mut self, label: &'static [u8], ciphertext: &GroupedCiphertext) {
        self.append_u64(label, ciphertext.handles.len() as u64);
        self.append_point(label, ciphertext.commitment.as_point());
        for handle in &ciphertext.handles {
            self.append_point(label, handle.as_point());
        }
    }

    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar {
        let mut buf = [0u8; 64];
        self.challenge_bytes(label, &mut buf);
        Scalar::from_bytes_mod_order_wide(&buf)
    }
}
