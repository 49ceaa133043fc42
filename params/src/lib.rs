//! Groth16 parameters for Coalition's shielded pool.
//!
//! - [`CircuitId`] names each circuit and hashes its constraint system;
//! - [`dev_setup`] is the deterministic, **INSECURE** setup for development;
//! - [`key_file`] is the on-disk format (checked header + compressed key);
//! - [`cache`] keeps dev keys on disk, regenerated when a circuit changes;
//! - [`checked_in`] pins the dev verifying-key hashes, so an accidental
//!   circuit change fails CI instead of silently changing the keys.

pub mod cache;
pub mod checked_in;
pub mod circuit_id;
pub mod dev_setup;
pub mod errors;
pub mod key_file;

pub use cache::{default_params_dir, ShieldedProvingKeys, ShieldedVerifyingKeys};
pub use circuit_id::CircuitId;
pub use errors::ParamsError;
