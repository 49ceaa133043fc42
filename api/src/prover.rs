//! The prover service's contract (`coalition prover serve`, `POST
//! /v1/prove`): the JSON form of proving jobs — a Spend or Output witness
//! with its public inputs — and the service's answers. Field elements are hex of their canonical 32-byte little-endian
//! encoding (values `≥ p` are refused); Baby Jubjub points (`ak`, `rk`) hex
//! of their 32-byte encoding and `α` hex of its 32 bytes below `l`, all
//! refused unless canonical; values and assets are numbers.
//!
//! A Spend job carries the proof generation key `(ak, nk)` and `α`, never
//! `ask`: the service can prove (and so learns what the full viewing key
//! shows), but the Redeem also needs the owner's signature under
//! `rk = ak + [α]·B`, which it cannot make (spec §14.3).

use ark_bn254::Fr;
use coalition_circuits::field;
use coalition_circuits::merkle::{MerklePath, DEPTH};
use coalition_circuits::note::{AssetId, Epoch, Expiry, NoteCommitment, Nullifier, Rho, TreeRoot};
use coalition_circuits::output::{OutputAssignment, OutputCircuit, OutputPublicInputs};
use coalition_circuits::spend::{
    InputAssignment, SpendAssignment, SpendCircuit, SpendPublicInputs, SpendWitness,
};
use coalition_circuits::spend_auth::{Randomizer, VerificationKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// A request that does not describe a well-formed job.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid job: {0}")]
pub struct JobFormatError(pub String);

/// A field element as 64 hex digits (canonical little-endian bytes). Many
/// are secrets (`ask`, `nk`, note randomness): the text is wiped on drop
/// and `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HexField(pub String);

impl Drop for HexField {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl HexField {
    /// Encodes `f`.
    pub fn of(f: &Fr) -> Self {
        HexField(hex::encode(field::to_bytes(f)))
    }

    /// Encodes 32 bytes (a point's or a scalar's encoding).
    pub fn of_bytes(bytes: &[u8; 32]) -> Self {
        HexField(hex::encode(bytes))
    }

    fn bytes(&self, what: &str) -> Result<Zeroizing<[u8; 32]>, JobFormatError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(&self.0, &mut bytes[..])
            .map_err(|_| JobFormatError(format!("{what}: expected 64 hex digits")))?;
        Ok(bytes)
    }

    fn parse(&self, what: &str) -> Result<Fr, JobFormatError> {
        field::from_bytes(&*self.bytes(what)?)
            .map_err(|_| JobFormatError(format!("{what}: not below the field modulus")))
    }

    fn parse_key(&self, what: &str) -> Result<VerificationKey, JobFormatError> {
        VerificationKey::from_bytes(&*self.bytes(what)?).map_err(|_| {
            JobFormatError(format!(
                "{what}: not a canonical Baby Jubjub point of the prime-order subgroup"
            ))
        })
    }

    fn parse_randomizer(&self, what: &str) -> Result<Randomizer, JobFormatError> {
        Randomizer::from_bytes(&*self.bytes(what)?)
            .ok_or_else(|| JobFormatError(format!("{what}: not below the subgroup order")))
    }
}

/// Output public inputs.
#[derive(Clone, Serialize, Deserialize)]
pub struct OutputPublic {
    /// Note commitment.
    pub commitment: HexField,
    /// Asset.
    pub asset: u64,
    /// Value.
    pub value: u64,
    /// `ρ`.
    pub rho: HexField,
    /// Expiry epoch.
    pub expiry: u32,
}

/// An Output proving job.
#[derive(Clone, Serialize, Deserialize)]
pub struct OutputJob {
    /// Public inputs.
    pub public: OutputPublic,
    /// Recipient owner tag.
    pub owner: HexField,
    /// Commitment randomness.
    pub rcm: HexField,
}

/// Spend public inputs.
#[derive(Clone, Serialize, Deserialize)]
pub struct SpendPublic {
    /// Anchor root.
    pub root: HexField,
    /// The two nullifiers.
    pub nullifiers: [HexField; 2],
    /// Change commitment.
    pub change_commitment: HexField,
    /// Asset.
    pub asset: u64,
    /// Value paid.
    pub value: u64,
    /// Merchant field element.
    pub merchant: HexField,
    /// Binding hash.
    pub binding: HexField,
    /// The re-randomized key `rk` (32-byte encoding).
    pub rk: HexField,
    /// The settlement epoch the inputs must not have expired by.
    pub epoch: u32,
}

/// One input note's private wires.
#[derive(Clone, Serialize, Deserialize)]
pub struct SpendInputJob {
    /// Value.
    pub value: u64,
    /// Expiry epoch.
    pub expiry: u32,
    /// `ρ`.
    pub rho: HexField,
    /// Commitment randomness.
    pub rcm: HexField,
    /// Leaf position.
    pub position: u64,
    /// The 32 siblings, leaf upwards.
    pub siblings: Vec<HexField>,
}

/// A Spend proving job: the proof generation key and `α`, never `ask`. The
/// service learns what the full viewing key shows and can link, but cannot
/// authorize a spend (papers/protocol.md §14.3).
#[derive(Clone, Serialize, Deserialize)]
pub struct SpendJob {
    /// Public inputs.
    pub public: SpendPublic,
    /// Spend validating key `ak` (32-byte encoding).
    pub ak: HexField,
    /// Nullifier key.
    pub nk: HexField,
    /// This spend's randomizer `α` (32 bytes, little-endian, below `l`).
    pub alpha: HexField,
    /// The two inputs.
    pub inputs: [SpendInputJob; 2],
    /// Change value.
    pub change_value: u64,
    /// Change commitment randomness.
    pub change_rcm: HexField,
}

/// A proving job.
// Parsed once per request and moved, never stored in bulk: boxing the large
// variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "circuit", rename_all = "lowercase")]
pub enum ProveRequest {
    /// Output (Shield).
    Output(OutputJob),
    /// Spend (Redeem).
    Spend(SpendJob),
}

/// A parsed job, ready to synthesize.
#[allow(clippy::large_enum_variant)] // as for `ProveRequest`
#[derive(Clone)]
pub enum Circuit {
    /// Output.
    Output(OutputCircuit),
    /// Spend.
    Spend(SpendCircuit),
}

impl Drop for SpendInputJob {
    fn drop(&mut self) {
        self.value.zeroize();
        self.expiry.zeroize();
        self.position.zeroize();
    }
}

impl Drop for SpendJob {
    fn drop(&mut self) {
        self.change_value.zeroize();
    }
}

impl Drop for OutputJob {
    fn drop(&mut self) {
        // The recipient and value of a note not yet on the ledger.
        self.public.value.zeroize();
    }
}

/// `Debug` for types holding a witness: the type's name, nothing of its
/// values (a `{:?}` in a log line must not leak a spending key).
macro_rules! debug_without_values {
    ($($ty:ty),*) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($ty), "(..)"))
            }
        }
    )*};
}

debug_without_values!(
    HexField,
    OutputPublic,
    OutputJob,
    SpendPublic,
    SpendInputJob,
    SpendJob,
    ProveRequest,
    Circuit
);

impl Circuit {
    /// `"output"` or `"spend"`.
    pub fn name(&self) -> &'static str {
        match self {
            Circuit::Output(_) => "output",
            Circuit::Spend(_) => "spend",
        }
    }
}

impl ProveRequest {
    /// The job for an Output proof of `circuit`'s statement.
    pub fn output(public: &OutputPublicInputs, assignment: &OutputAssignment) -> Self {
        ProveRequest::Output(OutputJob {
            public: OutputPublic {
                commitment: HexField::of(&public.commitment.0),
                asset: public.asset.0,
                value: public.value,
                rho: HexField::of(&public.rho.0),
                expiry: public.expiry.0,
            },
            owner: HexField::of(&assignment.owner),
            rcm: HexField::of(&assignment.rcm),
        })
    }

    /// The job for a Spend proof of `witness` under `public`.
    pub fn spend(public: &SpendPublicInputs, witness: &SpendWitness) -> Self {
        let input = |i: usize| {
            let note = &witness.inputs[i].note;
            let path = &witness.inputs[i].path;
            SpendInputJob {
                value: note.value,
                expiry: note.expiry.0,
                rho: HexField::of(&note.rho.0),
                rcm: HexField::of(&note.rcm),
                position: path.position,
                siblings: path.siblings.iter().map(HexField::of).collect(),
            }
        };
        ProveRequest::Spend(SpendJob {
            public: SpendPublic {
                root: HexField::of(&public.root.0),
                nullifiers: [
                    HexField::of(&public.nullifiers[0].0),
                    HexField::of(&public.nullifiers[1].0),
                ],
                change_commitment: HexField::of(&public.change_commitment.0),
                asset: public.asset.0,
                value: public.value,
                merchant: HexField::of(&public.merchant),
                binding: HexField::of(&public.binding),
                rk: HexField::of_bytes(&public.rk.to_bytes()),
                epoch: public.epoch.0,
            },
            ak: HexField::of_bytes(&witness.ak.to_bytes()),
            nk: HexField::of(&witness.nk.to_field()),
            alpha: HexField::of_bytes(&witness.alpha.to_bytes()),
            inputs: [input(0), input(1)],
            change_value: witness.change.value,
            change_rcm: HexField::of(&witness.change.rcm),
        })
    }

    /// Parses every field; refuses non-canonical elements and bad shapes.
    pub fn into_circuit(self) -> Result<Circuit, JobFormatError> {
        match self {
            ProveRequest::Output(job) => Ok(Circuit::Output(OutputCircuit {
                public: Some(OutputPublicInputs {
                    commitment: NoteCommitment(job.public.commitment.parse("commitment")?),
                    asset: AssetId(job.public.asset),
                    value: job.public.value,
                    rho: Rho(job.public.rho.parse("rho")?),
                    expiry: Expiry(job.public.expiry),
                }),
                assignment: Some(OutputAssignment {
                    owner: job.owner.parse("owner")?,
                    rcm: job.rcm.parse("rcm")?,
                }),
            })),
            ProveRequest::Spend(job) => {
                let p = &job.public;
                let public = SpendPublicInputs {
                    root: TreeRoot(p.root.parse("root")?),
                    nullifiers: [
                        Nullifier(p.nullifiers[0].parse("nullifier 1")?),
                        Nullifier(p.nullifiers[1].parse("nullifier 2")?),
                    ],
                    change_commitment: NoteCommitment(
                        p.change_commitment.parse("change commitment")?,
                    ),
                    asset: AssetId(p.asset),
                    value: p.value,
                    merchant: p.merchant.parse("merchant")?,
                    binding: p.binding.parse("binding")?,
                    rk: p.rk.parse_key("rk")?,
                    epoch: Epoch(p.epoch),
                };
                let input = |i: usize| -> Result<InputAssignment, JobFormatError> {
                    let x = &job.inputs[i];
                    if x.siblings.len() != DEPTH {
                        return Err(JobFormatError(format!(
                            "input {i}: {} siblings, expected {DEPTH}",
                            x.siblings.len()
                        )));
                    }
                    let mut siblings = [Fr::from(0u64); DEPTH];
                    for (slot, s) in siblings.iter_mut().zip(&x.siblings) {
                        *slot = s.parse("sibling")?;
                    }
                    Ok(InputAssignment {
                        value: Fr::from(x.value),
                        expiry: Fr::from(u64::from(x.expiry)),
                        rho: x.rho.parse("rho")?,
                        rcm: x.rcm.parse("rcm")?,
                        path: MerklePath {
                            position: x.position,
                            siblings,
                        },
                    })
                };
                Ok(Circuit::Spend(SpendCircuit {
                    public: Some(public),
                    assignment: Some(SpendAssignment {
                        ak: job.ak.parse_key("ak")?.point(),
                        nk: job.nk.parse("nk")?,
                        alpha: job.alpha.parse_randomizer("alpha")?.scalar(),
                        inputs: [input(0)?, input(1)?],
                        change_value: Fr::from(job.change_value),
                        change_rcm: job.change_rcm.parse("change rcm")?,
                    }),
                }))
            }
        }
    }
}

/// `200` from `POST /v1/prove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProveAnswer {
    /// `output` or `spend`.
    pub circuit: String,
    /// The Groth16 proof's canonical encoding (hex).
    pub proof: String,
    /// The MSM backend that made it.
    pub backend: String,
    /// Jobs proven in the same batch.
    pub batch_size: u64,
    /// Milliseconds the job waited.
    pub queued_ms: u64,
    /// Milliseconds its batch took.
    pub batch_ms: u64,
}

/// `GET /v1/health` of the prover service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProverHealth {
    /// The MSM backend in use.
    pub backend: String,
    /// Jobs waiting or being proven.
    pub in_flight: u64,
}

/// The prover service's refusal: `{"error": text}`. The text never repeats
/// a value of the job (a JSON error names a line and column only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProverRefusal {
    /// Why.
    pub error: String,
}
