//! The on-disk cache of dev keys, keyed by circuit shape.
//!
//! `<dir>/<circuit>-<shape hash, 16 hex>-INSECURE-DEV.{pk,vk}`. A changed
//! circuit has a new shape hash, hence a new file name: its keys are
//! regenerated on first use and the old files are simply never read again.
//! A file that fails any check is regenerated and overwritten.

use std::path::{Path, PathBuf};

use ark_bn254::Bn254;
use ark_groth16::{PreparedVerifyingKey, ProvingKey, VerifyingKey};

use crate::{
    circuit_id::CircuitId,
    dev_setup::{insecure_dev_setup, INSECURE_WARNING},
    errors::ParamsError,
    key_file::{self, KeyHeader, KeyKind, SetupKind},
};

/// `$COALITION_PARAMS_DIR`, else `$HOME/.cache/coalition/params`, else a
/// folder in the system temporary directory.
pub fn default_params_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("COALITION_PARAMS_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache/coalition/params");
    }
    std::env::temp_dir().join("coalition-params")
}

fn dev_path(dir: &Path, circuit: CircuitId, shape: &[u8; 32], kind: KeyKind) -> PathBuf {
    let ext = match kind {
        KeyKind::Proving => "pk",
        KeyKind::Verifying => "vk",
    };
    dir.join(format!(
        "{}-{}-INSECURE-DEV.{ext}",
        circuit.name(),
        hex::encode(&shape[..8])
    ))
}

fn dev_header(circuit: CircuitId, shape: [u8; 32]) -> KeyHeader {
    KeyHeader {
        kind: KeyKind::Proving,
        setup: SetupKind::InsecureDev,
        circuit,
        shape_hash: shape,
        banner: INSECURE_WARNING.to_string(),
    }
}

/// The dev proving key for `circuit`, from `dir` or freshly generated (and
/// then written with its verifying key).
pub fn load_or_generate_dev_proving_key(
    circuit: CircuitId,
    dir: &Path,
) -> Result<ProvingKey<Bn254>, ParamsError> {
    let shape = circuit.shape_hash()?;
    let path = dev_path(dir, circuit, &shape, KeyKind::Proving);
    if let Ok(bytes) = std::fs::read(&path) {
        match key_file::decode_proving_key(&bytes, circuit) {
            Ok((_, pk)) => {
                eprintln!(
                    "coalition-params: loaded {}. {INSECURE_WARNING}",
                    path.display()
                );
                return Ok(pk);
            }
            Err(e) => eprintln!(
                "coalition-params: {} rejected ({e}); regenerating",
                path.display()
            ),
        }
    }
    let pk = insecure_dev_setup(circuit)?;
    let header = dev_header(circuit, shape);
    key_file::write_atomically(&path, &key_file::encode_proving_key(&header, &pk)?)?;
    let vk_path = dev_path(dir, circuit, &shape, KeyKind::Verifying);
    key_file::write_atomically(&vk_path, &key_file::encode_verifying_key(&header, &pk.vk)?)?;
    Ok(pk)
}

/// The dev verifying key for `circuit`, from `dir` or via the proving key.
pub fn load_or_generate_dev_verifying_key(
    circuit: CircuitId,
    dir: &Path,
) -> Result<VerifyingKey<Bn254>, ParamsError> {
    let shape = circuit.shape_hash()?;
    let path = dev_path(dir, circuit, &shape, KeyKind::Verifying);
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok((_, vk)) = key_file::decode_verifying_key(&bytes, circuit) {
            return Ok(vk);
        }
    }
    Ok(load_or_generate_dev_proving_key(circuit, dir)?.vk)
}

/// Proving keys of both circuits.
#[derive(Clone, Debug)]
pub struct ShieldedProvingKeys {
    /// Output (Shield).
    pub output: ProvingKey<Bn254>,
    /// Spend (Redeem).
    pub spend: ProvingKey<Bn254>,
}

impl ShieldedProvingKeys {
    /// Dev keys from `dir` (generated on first use). INSECURE.
    pub fn insecure_dev(dir: &Path) -> Result<Self, ParamsError> {
        Ok(ShieldedProvingKeys {
            output: load_or_generate_dev_proving_key(CircuitId::Output, dir)?,
            spend: load_or_generate_dev_proving_key(CircuitId::Spend, dir)?,
        })
    }

    /// The matching verifying keys.
    pub fn verifying_keys(&self) -> ShieldedVerifyingKeys {
        ShieldedVerifyingKeys::new(&self.output.vk, &self.spend.vk)
    }
}

/// Prepared verifying keys of both circuits: all a node needs to check the
/// pool.
#[derive(Clone, Debug)]
pub struct ShieldedVerifyingKeys {
    /// Output (Shield).
    pub output: PreparedVerifyingKey<Bn254>,
    /// Spend (Redeem).
    pub spend: PreparedVerifyingKey<Bn254>,
}

impl PartialEq for ShieldedVerifyingKeys {
    fn eq(&self, other: &Self) -> bool {
        self.output.vk == other.output.vk && self.spend.vk == other.spend.vk
    }
}

impl Eq for ShieldedVerifyingKeys {}

impl ShieldedVerifyingKeys {
    /// Prepares `output` and `spend`.
    pub fn new(output: &VerifyingKey<Bn254>, spend: &VerifyingKey<Bn254>) -> Self {
        ShieldedVerifyingKeys {
            output: ark_groth16::prepare_verifying_key(output),
            spend: ark_groth16::prepare_verifying_key(spend),
        }
    }

    /// Dev verifying keys from `dir` (generated on first use). INSECURE.
    pub fn insecure_dev(dir: &Path) -> Result<Self, ParamsError> {
        Ok(Self::new(
            &load_or_generate_dev_verifying_key(CircuitId::Output, dir)?,
            &load_or_generate_dev_verifying_key(CircuitId::Spend, dir)?,
        ))
    }
}
