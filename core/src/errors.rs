//! Error types of the core layer. Proving and verification errors live in
//! their own crates.

use thiserror::Error;

/// Why a byte string was refused by a canonical decoder.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the value was complete.
    #[error("input truncated while reading {what}")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// Bytes were left over after the value.
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// A 32-byte string that is not the canonical encoding of a Ristretto point.
    #[error("{what}: not a canonical Ristretto255 point encoding")]
    InvalidPoint {
        /// The field being read.
        what: &'static str,
    },
    /// The identity point where the protocol forbids it.
    #[error("{what}: identity point is not allowed here")]
    IdentityPoint {
        /// The field being read.
        what: &'static str,
    },
    /// A scalar encoding that is not reduced modulo the group order ℓ.
    #[error("{what}: scalar is not canonical (must be < ℓ)")]
    NonCanonicalScalar {
        /// The field being read.
        what: &'static str,
    },
    /// A length, count or tag outside the bounds the format allows.
    #[error("{what}: value {value} out of bounds")]
    OutOfBounds {
        /// The field being read.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// An unknown enum tag or flag.
    #[error("{what}: unknown tag {tag}")]
    UnknownTag {
        /// The field being read.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A field that does not satisfy its own validity rule.
    #[error("{what}: {reason}")]
    Invalid {
        /// The field being read.
        what: &'static str,
        /// Why it is invalid.
        reason: &'static str,
    },
}

/// Why a key could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// A public key that is the identity point.
    #[error("public key is the identity point")]
    IdentityPublicKey,
    /// A secret scalar that is zero.
    #[error("secret key is zero")]
    ZeroSecretKey,
    /// An Ed25519 verifying key that does not decode, or is weak.
    #[error("invalid Ed25519 verifying key")]
    InvalidSigningKey,
    /// A byte string of the wrong length.
    #[error("key material has length {0}, expected {1}")]
    WrongLength(usize, usize),
}

/// Why a ciphertext could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecryptionError {
    /// The plaintext is not in `[0, bound)` for the table used.
    #[error("plaintext not found below 2^{bound_bits} (the table's decryption bound)")]
    OutOfRange {
        /// log2 of the searched bound.
        bound_bits: u32,
    },
}
