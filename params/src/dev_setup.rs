//! The deterministic, INSECURE development setup.
//!
//! Groth16 needs a structured reference string whose trapdoor `(α, β, γ, δ,
//! τ)` nobody knows. This setup derives the trapdoor from a public seed, so
//! **anyone can recompute it and forge proofs**. It exists so tests, the demo
//! and benchmarks have reproducible keys; a real coalition runs a multi-party
//! ceremony (a later milestone) and loads its keys with the same file format.

use ark_bn254::Bn254;
use ark_groth16::{Groth16, ProvingKey};
use ark_snark::CircuitSpecificSetupSNARK;
use coalition_circuits::{output::OutputCircuit, spend::SpendCircuit};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

use crate::{circuit_id::CircuitId, errors::ParamsError};

/// Printed whenever dev keys are generated or loaded.
pub const INSECURE_WARNING: &str =
    "INSECURE DEV SETUP: Groth16 trapdoor derived from a public seed; anyone can forge proofs. Never use these keys with real value.";

/// The public seed of the dev setup for `circuit` with shape `shape_hash`.
pub fn insecure_dev_seed(circuit: CircuitId, shape_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"coalition/v1/INSECURE-dev-setup");
    h.update(circuit.name().as_bytes());
    h.update(shape_hash);
    h.finalize().into()
}

/// Runs the INSECURE dev setup for `circuit`: the same keys on every machine.
pub fn insecure_dev_setup(circuit: CircuitId) -> Result<ProvingKey<Bn254>, ParamsError> {
    let shape = circuit.shape_hash()?;
    eprintln!(
        "coalition-params: generating {} keys. {INSECURE_WARNING}",
        circuit.name()
    );
    let mut rng = ChaCha20Rng::from_seed(insecure_dev_seed(circuit, &shape));
    let (pk, _vk) = match circuit {
        CircuitId::Output => Groth16::<Bn254>::setup(OutputCircuit::default(), &mut rng)?,
        CircuitId::Spend => Groth16::<Bn254>::setup(SpendCircuit::default(), &mut rng)?,
    };
    Ok(pk)
}
