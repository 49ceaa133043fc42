//! Errors of parameter generation and key-file loading.

use thiserror::Error;

/// Why keys could not be produced or loaded.
#[derive(Debug, Error)]
pub enum ParamsError {
    /// Reading or writing a key file failed.
    #[error("key file I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with the key-file magic.
    #[error("not a Coalition key file")]
    BadMagic,
    /// The header's format version is not one this build reads.
    #[error("unsupported key-file version {0}")]
    UnsupportedVersion(u16),
    /// The header names another circuit (or none we know).
    #[error("key file is for circuit {found:?}, expected {expected}")]
    WrongCircuit {
        /// What the caller asked for.
        expected: &'static str,
        /// What the header says.
        found: String,
    },
    /// The header names another key kind (proving vs verifying).
    #[error("key file holds the wrong kind of key")]
    WrongKind,
    /// The key was made for another version of the circuit.
    #[error("key file was made for a different circuit shape (stale key)")]
    StaleShape,
    /// The payload's SHA-256 does not match the header.
    #[error("key file payload hash mismatch (corrupt or tampered)")]
    PayloadHashMismatch,
    /// A length field exceeds the bound.
    #[error("key file field too large: {0} bytes")]
    TooLarge(u64),
    /// The payload is not a valid key (encoding, curve or subgroup check).
    #[error("key payload rejected: {0}")]
    Deserialize(#[from] ark_serialize::SerializationError),
    /// Circuit synthesis failed.
    #[error("circuit synthesis: {0}")]
    Synthesis(#[from] ark_relations::gr1cs::SynthesisError),
    /// The constraint system has no R1CS predicate.
    #[error("circuit is not plain R1CS")]
    NotR1cs,
}
