//! The key-file format: a checked header, then an arkworks canonical
//! compressed key.
//!
//! ```text
//! magic        8   "CLTNKEY\0"
//! version      2   u16 LE = 1
//! kind         1   1 = proving key, 2 = verifying key
//! setup        1   0 = INSECURE dev setup, 1 = ceremony
//! circuit      1+n length-prefixed circuit name ("coalition.spend.v2")
//! shape hash   32  CircuitId::shape_hash of the circuit the key was made for
//! banner       2+n length-prefixed UTF-8 (the INSECURE warning for dev keys)
//! payload hash 32  SHA-256 of the payload
//! payload len  8   u64 LE, at most 512 MiB
//! payload      n   ark-serialize compressed ProvingKey / VerifyingKey
//! ```
//!
//! Loading refuses a wrong magic, version, kind or circuit, a shape hash
//! other than the current circuit's (a stale key), a payload hash mismatch,
//! oversized fields and trailing bytes, and deserializes with full validation
//! (every point on the curve and in the prime-order subgroup).

use ark_bn254::Bn254;
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use sha2::{Digest, Sha256};

use crate::{circuit_id::CircuitId, errors::ParamsError};

const MAGIC: &[u8; 8] = b"CLTNKEY\0";
const VERSION: u16 = 1;
const MAX_PAYLOAD: u64 = 512 << 20;
const MAX_BANNER: usize = 1024;

/// What a key file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A proving key (which contains its verifying key).
    Proving = 1,
    /// A verifying key.
    Verifying = 2,
}

/// Where the key's trapdoor came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupKind {
    /// The deterministic INSECURE dev setup.
    InsecureDev = 0,
    /// A multi-party ceremony.
    Ceremony = 1,
}

/// A parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHeader {
    /// Key kind.
    pub kind: KeyKind,
    /// Setup kind.
    pub setup: SetupKind,
    /// The circuit.
    pub circuit: CircuitId,
    /// Its shape hash at generation time.
    pub shape_hash: [u8; 32],
    /// Human-readable banner.
    pub banner: String,
}

fn encode(header: &KeyHeader, payload: &[u8]) -> Vec<u8> {
    let name = header.circuit.name().as_bytes();
    let banner = header.banner.as_bytes();
    let mut out = Vec::with_capacity(payload.len() + 256);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.push(header.kind as u8);
    out.push(header.setup as u8);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&header.shape_hash);
    out.extend_from_slice(&(banner.len() as u16).to_le_bytes());
    out.extend_from_slice(banner);
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParamsError> {
        if self.0.len() < n {
            return Err(ParamsError::Deserialize(
                ark_serialize::SerializationError::InvalidData,
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
}

/// Parses and checks the header of `bytes` against `circuit`, `kind` and
/// the circuit's current shape; returns the header and the payload.
fn decode(
    bytes: &[u8],
    circuit: CircuitId,
    kind: KeyKind,
) -> Result<(KeyHeader, &[u8]), ParamsError> {
    let mut c = Cursor(bytes);
    if c.take(8)? != MAGIC {
        return Err(ParamsError::BadMagic);
    }
    let version = u16::from_le_bytes(c.take(2)?.try_into().expect("2 bytes"));
    if version != VERSION {
        return Err(ParamsError::UnsupportedVersion(version));
    }
    let found_kind = c.take(1)?[0];
    if found_kind != kind as u8 {
        return Err(ParamsError::WrongKind);
    }
    let setup = match c.take(1)?[0] {
        0 => SetupKind::InsecureDev,
        1 => SetupKind::Ceremony,
        _ => return Err(ParamsError::BadMagic),
    };
    let name_len = c.take(1)?[0] as usize;
    let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
    let found = CircuitId::from_name(&name);
    if found != Some(circuit) {
        return Err(ParamsError::WrongCircuit {
            expected: circuit.name(),
            found: name,
        });
    }
    let shape_hash: [u8; 32] = c.take(32)?.try_into().expect("32 bytes");
    if shape_hash != circuit.shape_hash()? {
        return Err(ParamsError::StaleShape);
    }
    let banner_len = u16::from_le_bytes(c.take(2)?.try_into().expect("2 bytes")) as usize;
    if banner_len > MAX_BANNER {
        return Err(ParamsError::TooLarge(banner_len as u64));
    }
    let banner = String::from_utf8_lossy(c.take(banner_len)?).into_owned();
    let payload_hash: [u8; 32] = c.take(32)?.try_into().expect("32 bytes");
    let payload_len = u64::from_le_bytes(c.take(8)?.try_into().expect("8 bytes"));
    if payload_len > MAX_PAYLOAD {
        return Err(ParamsError::TooLarge(payload_len));
    }
    let payload = c.take(payload_len as usize)?;
    if !c.0.is_empty() {
        return Err(ParamsError::Deserialize(
            ark_serialize::SerializationError::InvalidData,
        ));
    }
    if Sha256::digest(payload).as_slice() != payload_hash {
        return Err(ParamsError::PayloadHashMismatch);
    }
    let header = KeyHeader {
        kind,
        setup,
        circuit,
        shape_hash,
        banner,
    };
    Ok((header, payload))
}

fn encode_key<K: CanonicalSerialize>(
    header: &KeyHeader,
    kind: KeyKind,
    key: &K,
) -> Result<Vec<u8>, ParamsError> {
    let mut payload = Vec::with_capacity(key.compressed_size());
    key.serialize_compressed(&mut payload)?;
    Ok(encode(
        &KeyHeader {
            kind,
            ..header.clone()
        },
        &payload,
    ))
}

fn decode_key<K: CanonicalDeserialize>(
    bytes: &[u8],
    circuit: CircuitId,
    kind: KeyKind,
) -> Result<(KeyHeader, K), ParamsError> {
    let (header, mut payload) = decode(bytes, circuit, kind)?;
    let key = K::deserialize_with_mode(&mut payload, Compress::Yes, Validate::Yes)?;
    Ok((header, key))
}

/// Encodes a proving key file.
pub fn encode_proving_key(
    header: &KeyHeader,
    pk: &ProvingKey<Bn254>,
) -> Result<Vec<u8>, ParamsError> {
    encode_key(header, KeyKind::Proving, pk)
}

/// Encodes a verifying key file.
pub fn encode_verifying_key(
    header: &KeyHeader,
    vk: &VerifyingKey<Bn254>,
) -> Result<Vec<u8>, ParamsError> {
    encode_key(header, KeyKind::Verifying, vk)
}

/// Decodes and fully validates a proving key file for `circuit`.
pub fn decode_proving_key(
    bytes: &[u8],
    circuit: CircuitId,
) -> Result<(KeyHeader, ProvingKey<Bn254>), ParamsError> {
    decode_key(bytes, circuit, KeyKind::Proving)
}

/// Decodes and fully validates a verifying key file for `circuit`.
pub fn decode_verifying_key(
    bytes: &[u8],
    circuit: CircuitId,
) -> Result<(KeyHeader, VerifyingKey<Bn254>), ParamsError> {
    decode_key(bytes, circuit, KeyKind::Verifying)
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), ParamsError> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
