//! Note encryption: X25519 key agreement and ChaCha20-Poly1305.
//!
//! ```text
//! esk ←$ ;  epk = X25519(esk, basepoint)
//! shared = X25519(esk, pk_enc)            (refused if all-zero: low-order pk_enc)
//! key = SHA-256("coalition/v1/note-encryption" ‖ shared ‖ epk ‖ pk_enc)
//! ct  = ChaCha20-Poly1305(key, nonce = 0, aad = cm,
//!                         asset (8 LE) ‖ expiry (4 LE) ‖ value (8 LE) ‖ ρ (32) ‖ rcm (32))
//! ```
//!
//! The key is fresh per note (fresh `esk`), so the fixed nonce is never
//! reused under one key. `cm` is bound as associated data, and a recipient
//! accepts a decrypted note only if it recommits to `cm` with its own address:
//! a sender cannot make a wallet believe in a note that is not on the ledger.

use ark_bn254::Fr;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use thiserror::Error;
use x25519_dalek::{EphemeralSecret, PublicKey};
use zeroize::Zeroize;

use crate::field;
use crate::keys::{IncomingViewingKey, ShieldedAddress};
use crate::note::{AssetId, Expiry, Note, NoteCommitment, Rho};

const PLAINTEXT_LEN: usize = 8 + 4 + 8 + 32 + 32;
const TAG_LEN: usize = 16;

/// Errors of note encryption.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum NoteEncryptionError {
    /// The recipient's transmission key is a low-order point.
    #[error("recipient transmission key is not a valid X25519 key")]
    InvalidTransmissionKey,
}

/// A note encrypted to its recipient; carried next to its commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedNote {
    /// Ephemeral X25519 public key.
    pub epk: [u8; 32],
    /// AEAD ciphertext and tag.
    pub ciphertext: [u8; PLAINTEXT_LEN + TAG_LEN],
}

impl EncryptedNote {
    /// Encoded length.
    pub const LEN: usize = 32 + PLAINTEXT_LEN + TAG_LEN;

    /// Encrypts `note` (whose commitment is `cm`) to its address.
    pub fn encrypt<R: RngCore + CryptoRng>(
        note: &Note,
        rng: &mut R,
    ) -> Result<Self, NoteEncryptionError> {
        let esk = EphemeralSecret::random_from_rng(&mut *rng);
        let epk = PublicKey::from(&esk).to_bytes();
        let recipient = PublicKey::from(note.address.transmission_key);
        let shared = esk.diffie_hellman(&recipient);
        if !shared.was_contributory() {
            return Err(NoteEncryptionError::InvalidTransmissionKey);
        }
        let cipher = cipher(shared.as_bytes(), &epk, &note.address.transmission_key);
        let mut plaintext = [0u8; PLAINTEXT_LEN];
        plaintext[..8].copy_from_slice(&note.asset.0.to_le_bytes());
        plaintext[8..12].copy_from_slice(&note.expiry.0.to_le_bytes());
        plaintext[12..20].copy_from_slice(&note.value.to_le_bytes());
        plaintext[20..52].copy_from_slice(&note.rho.to_bytes());
        plaintext[52..].copy_from_slice(&field::to_bytes(&note.rcm));
        let cm = note.commitment().to_bytes();
        let sealed = cipher
            .encrypt(
                &Nonce::default(),
                Payload {
                    msg: &plaintext,
                    aad: &cm,
                },
            )
            .expect("ChaCha20-Poly1305 encryption of 84 bytes cannot fail");
        plaintext.zeroize();
        Ok(EncryptedNote {
            epk,
            ciphertext: sealed.try_into().expect("plaintext + tag"),
        })
    }

    /// Trial decryption by a wallet: `Some(note)` only if this note is ours
    /// and recommits to `cm`.
    pub fn decrypt(
        &self,
        ivk: &IncomingViewingKey,
        address: &ShieldedAddress,
        cm: &NoteCommitment,
    ) -> Option<Note> {
        let shared = ivk.0.diffie_hellman(&PublicKey::from(self.epk));
        if !shared.was_contributory() {
            return None;
        }
        let cipher = cipher(shared.as_bytes(), &self.epk, &address.transmission_key);
        let mut plaintext = cipher
            .decrypt(
                &Nonce::default(),
                Payload {
                    msg: &self.ciphertext,
                    aad: &cm.to_bytes(),
                },
            )
            .ok()?;
        let note = parse_plaintext(&plaintext, address);
        plaintext.zeroize();
        note.filter(|n| n.commitment() == *cm)
    }

    /// `epk ‖ ciphertext`.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..32].copy_from_slice(&self.epk);
        out[32..].copy_from_slice(&self.ciphertext);
        out
    }

    /// Parses [`Self::to_bytes`] (any bytes are a possible ciphertext).
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Self {
        let mut epk = [0u8; 32];
        epk.copy_from_slice(&bytes[..32]);
        EncryptedNote {
            epk,
            ciphertext: bytes[32..].try_into().expect("fixed length"),
        }
    }
}

fn cipher(shared: &[u8; 32], epk: &[u8; 32], pk_enc: &[u8; 32]) -> ChaCha20Poly1305 {
    let mut hasher = Sha256::new();
    hasher.update(b"coalition/v1/note-encryption");
    hasher.update(shared);
    hasher.update(epk);
    hasher.update(pk_enc);
    let mut key = hasher.finalize();
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key));
    key.as_mut_slice().zeroize();
    cipher
}

fn parse_plaintext(plaintext: &[u8], address: &ShieldedAddress) -> Option<Note> {
    if plaintext.len() != PLAINTEXT_LEN {
        return None;
    }
    let asset = AssetId(u64::from_le_bytes(plaintext[..8].try_into().ok()?));
    let expiry = Expiry(u32::from_le_bytes(plaintext[8..12].try_into().ok()?));
    let value = u64::from_le_bytes(plaintext[12..20].try_into().ok()?);
    let rho = Rho::from_bytes(plaintext[20..52].try_into().ok()?).ok()?;
    let rcm: Fr = field::from_bytes(plaintext[52..].try_into().ok()?).ok()?;
    Some(Note {
        asset,
        expiry,
        value,
        address: *address,
        rho,
        rcm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SpendingKey;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn recipient_decrypts_others_do_not() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let alice = SpendingKey::from_seed(&[1; 32]);
        let bob = SpendingKey::from_seed(&[2; 32]);
        let note = Note::new(
            AssetId(42),
            Expiry(9),
            500,
            alice.address(),
            Rho::random(&mut rng),
            &mut rng,
        );
        let cm = note.commitment();
        let enc = EncryptedNote::encrypt(&note, &mut rng).unwrap();
        let decoded = EncryptedNote::from_bytes(&enc.to_bytes());
        let found = decoded.decrypt(&alice.incoming_viewing_key(), &alice.address(), &cm);
        assert_eq!(found, Some(note.clone()));
        assert_eq!(
            decoded.decrypt(&bob.incoming_viewing_key(), &bob.address(), &cm),
            None
        );
        // Bound to its commitment: a ciphertext moved next to another cm is refused.
        let other = Note::new(
            AssetId(42),
            Expiry(9),
            500,
            alice.address(),
            Rho::random(&mut rng),
            &mut rng,
        );
        assert_eq!(
            decoded.decrypt(
                &alice.incoming_viewing_key(),
                &alice.address(),
                &other.commitment()
            ),
            None
        );
        // Any flipped bit fails authentication.
        let mut bytes = enc.to_bytes();
        bytes[40] ^= 1;
        assert_eq!(
            EncryptedNote::from_bytes(&bytes).decrypt(
                &alice.incoming_viewing_key(),
                &alice.address(),
                &cm
            ),
            None
        );
    }

    #[test]
    fn low_order_transmission_key_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let mut address = SpendingKey::from_seed(&[3; 32]).address();
        address.transmission_key = [0u8; 32];
        let note = crate::testing::note(AssetId(1), 1, address, &mut rng);
        assert_eq!(
            EncryptedNote::encrypt(&note, &mut rng),
            Err(NoteEncryptionError::InvalidTransmissionKey)
        );
    }
}
