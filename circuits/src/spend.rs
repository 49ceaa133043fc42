//! The Spend circuit (`coalition.spend.v2`), proved by `Redeem`.
//!
//! Statement, for public `(root, nf₁, nf₂, cm_c, asset, X, merchant, binding,
//! rk, epoch)`: *I know a proof generation key `(ak, nk)`, a randomizer `α`,
//! two input notes `(v_i, e_i, ρ_i, rcm_i)` with paths, and a change note
//! `(v_c, rcm_c)` such that*
//!
//! ```text
//! ak on Baby Jubjub;  rk = ak + [α]·B                      re-randomized key
//! owner = Poseidon_owner(ak.x, ak.y, nk)                  the notes' owner
//! for i in 1, 2:
//!     cm_i = Poseidon_cm(asset + 2^64·e_i, v_i, owner, ρ_i, rcm_i)
//!     (MerkleRoot(cm_i, path_i) − root) · v_i = 0            membership unless v_i = 0
//!     nf_i = Poseidon_nf(nk, ρ_i, cm_i)                      nullifier of this very note
//!     v_i < 2^64
//!     e_i − epoch < 2^32                                     not expired: epoch ≤ e_i
//! b ∈ {0, 1};  (2b − 1)·(e₂ − e₁) < 2^32                     b = [e₁ ≤ e₂]
//! e_c = e₂ + b·(e₁ − e₂)                                     e_c = min(e₁, e₂)
//! cm_c = Poseidon_cm(asset + 2^64·e_c, v_c, owner, nf₁, rcm_c)   change to self, ρ_c = nf₁
//! v_c < 2^64
//! v₁ + v₂ = v_c + X                                          conservation
//! ```
//!
//! # Expiry
//!
//! `epoch < 2^32` (the verifier builds it from a `u32`), so `e_i − epoch`
//! in `[0, 2^32)` means `epoch ≤ e_i < epoch + 2^32` as integers: an input
//! that expired before `epoch` is unsatisfiable, whatever its value (a
//! dummy too: wallets give dummies [`crate::note::Expiry::NEVER`]). Both
//! `e_i` are then within `2^32` of each other, so exactly one sign of
//! `e₂ − e₁` passes the 32-bit check (for `e₁ = e₂` both do and both give
//! the same minimum), and `e_c` is the earlier expiry: points cannot be
//! refreshed by moving them. A dummy with a far expiry cannot lift `e_c`
//! above the real input's, and one with an earlier expiry only shortens
//! the spender's own change. Notes of non-zero value the ledger holds have
//! `e ≤ 2^32 − 1`: Output takes a `u32`, and the ledger refuses `X = 0`, so
//! some input of a Redeem has value, is in the tree and bounds `e_c` (two
//! dummies could give a value-0 change any `e_c < epoch + 2^32`, which is
//! harmless: it carries nothing, and `asset + 2^64·e` is injective far
//! beyond `2^33`). The ledger checks `epoch` is the current settlement
//! epoch or the one before (spec §13.13).
//!
//! (`Poseidon_D`: Poseidon with domain tag `D`, [`crate::poseidon::Domain`].)
//!
//! The proof shows the notes belong to `(ak, nk)`; it does not show that
//! the prover may spend them. That is the spend-authorization signature's
//! job: the Redeem carries a signature under `rk` ([`crate::spend_auth`]),
//! which only the holder of `ask` (with `α`) can make. So the proof can be
//! delegated: a prover given `(ak, nk, α)` and the notes learns what the
//! full viewing key shows, and can make proofs, but no Redeem the ledger
//! accepts. The curve work costs about a thousand constraints
//! ([`crate::babyjub::gadget`]).
//!
//! A single-note spend uses a *dummy* second input of value 0 (Zcash's
//! convention): its membership is not enforced, its nullifier is still
//! revealed and must be fresh, which costs nothing but keeps every Redeem the
//! same shape. Because all values are below `2^64` and there are three of
//! them, the conservation equation cannot wrap modulo `p ≈ 2^254`.
//!
//! # Why a dummy is harmless
//!
//! A dummy's wires are free except for its value (0) and owner (the one of
//! `(ak, nk)`), so what it can reveal is `Poseidon_nf(nk, ρ, cm)` for a `cm`
//! of value 0 under that owner tag. A note of value `v > 0` has another `cm`
//! (else Poseidon collides), hence another nullifier: a dummy can never
//! spend, or freeze, a note that carries value (v1 keyed the nullifier over
//! `ρ` alone, and a prover with the victim's `nk` could; see
//! `tests/freeze_attack.rs`). A real input can reveal a note's nullifier
//! only under that note's `(ak, nk)`, and such a Redeem needs the owner's
//! signature. Freezing a value-0 note loses nothing.
//!
//! `merchant` and `binding` are not used by any other constraint: they are
//! bound to the proof through their own input terms (and a squaring
//! constraint each, so the binding does not depend on the QAP reduction's
//! padding). `binding` is a hash of the rest of the Redeem transaction, so a
//! proof cannot be lifted into a transaction with another change ciphertext,
//! chain or nonce.

use ark_bn254::Fr;
use ark_ff::PrimeField;
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use zeroize::Zeroize;

use crate::babyjub::gadget::{fixed_base_mul, scalar_bits_witness, PointVar};
use crate::babyjub::{self, Point, Scalar};
use crate::gadgets;
use crate::keys::{NullifierKey, ProofGenerationKey};
use crate::merkle::{gadget::MerklePathVar, MerklePath};
use crate::note::{AssetId, Epoch, Expiry, Note, NoteCommitment, Nullifier, Rho, TreeRoot};
use crate::spend_auth::{Randomizer, VerificationKey};

/// The Spend proof's public inputs, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpendPublicInputs {
    /// A recent note-tree root.
    pub root: TreeRoot,
    /// Nullifiers of the two inputs.
    pub nullifiers: [Nullifier; 2],
    /// The change note's commitment.
    pub change_commitment: NoteCommitment,
    /// The asset of every note.
    pub asset: AssetId,
    /// The value paid out of the pool.
    pub value: u64,
    /// The merchant paid, as a field element.
    pub merchant: Fr,
    /// Hash of the rest of the transaction.
    pub binding: Fr,
    /// The re-randomized validating key the Redeem's signature is under.
    pub rk: VerificationKey,
    /// The settlement epoch the inputs must not have expired by.
    pub epoch: Epoch,
}

impl SpendPublicInputs {
    /// Number of field elements.
    pub const LEN: usize = 11;

    /// `[root, nf₁, nf₂, cm_c, asset, X, merchant, binding, rk.x, rk.y,
    /// epoch]`.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        let rk = self.rk.point();
        vec![
            self.root.0,
            self.nullifiers[0].0,
            self.nullifiers[1].0,
            self.change_commitment.0,
            self.asset.to_field(),
            Fr::from(self.value),
            self.merchant,
            self.binding,
            rk.x,
            rk.y,
            self.epoch.to_field(),
        ]
    }
}

/// One input: a note owned by the spender and its path (any path for a dummy).
#[derive(Clone, Debug)]
pub struct SpendInput {
    /// The note.
    pub note: Note,
    /// Its authentication path.
    pub path: MerklePath,
}

/// Everything the prover needs: no `ask`, so a delegated prover can be
/// given it (it shows what the full viewing key shows, plus `α`).
#[derive(Clone, Debug)]
pub struct SpendWitness {
    /// Spend validating key `ak`.
    pub ak: VerificationKey,
    /// Nullifier key.
    pub nk: NullifierKey,
    /// This spend's randomizer `α`.
    pub alpha: Randomizer,
    /// The two inputs (the second may be a dummy of value 0).
    pub inputs: [SpendInput; 2],
    /// The change note; its `ρ` must be the first input's nullifier and its
    /// expiry the inputs' earliest ([`SpendWitness::change_expiry`]).
    pub change: Note,
}

impl SpendWitness {
    /// The proof generation key `(ak, nk)`.
    pub fn proof_generation_key(&self) -> ProofGenerationKey {
        ProofGenerationKey {
            ak: self.ak,
            nk: self.nk.clone(),
        }
    }

    /// `rk = ak + [α]·B`, the key the Redeem is signed under.
    pub fn rk(&self) -> VerificationKey {
        self.ak.randomize(&self.alpha)
    }

    /// The expiry the change note must carry: the inputs' earliest.
    pub fn change_expiry(&self) -> Expiry {
        self.inputs[0]
            .note
            .expiry
            .earliest(self.inputs[1].note.expiry)
    }

    /// The public inputs this witness proves, given the paid value, the
    /// merchant, the binding hash, the root the paths lead to and the
    /// epoch.
    pub fn public_inputs(
        &self,
        root: TreeRoot,
        value: u64,
        merchant: Fr,
        binding: Fr,
        epoch: Epoch,
    ) -> SpendPublicInputs {
        SpendPublicInputs {
            root,
            nullifiers: [
                self.inputs[0].note.nullifier(&self.nk),
                self.inputs[1].note.nullifier(&self.nk),
            ],
            change_commitment: self.change.commitment(),
            asset: self.change.asset,
            value,
            merchant,
            binding,
            rk: self.rk(),
            epoch,
        }
    }

    /// The raw assignment of the circuit's private wires.
    pub fn assignment(&self) -> SpendAssignment {
        SpendAssignment {
            ak: self.ak.point(),
            nk: self.nk.to_field(),
            alpha: self.alpha.scalar(),
            inputs: [0, 1].map(|i| InputAssignment {
                value: Fr::from(self.inputs[i].note.value),
                expiry: self.inputs[i].note.expiry.to_field(),
                rho: self.inputs[i].note.rho.0,
                rcm: self.inputs[i].note.rcm,
                path: self.inputs[i].path.clone(),
            }),
            change_value: Fr::from(self.change.value),
            change_rcm: self.change.rcm,
        }
    }
}

/// Private wires of one input (wiped on drop; `Debug` shows none of them).
#[derive(Clone)]
pub struct InputAssignment {
    /// Value (a field element so tests can try out-of-range values).
    pub value: Fr,
    /// Expiry epoch (a field element, likewise).
    pub expiry: Fr,
    /// `ρ`.
    pub rho: Fr,
    /// Commitment randomness.
    pub rcm: Fr,
    /// Authentication path.
    pub path: MerklePath,
}

/// Private wires of the Spend circuit (wiped on drop; `Debug` shows none of
/// them).
#[derive(Clone)]
pub struct SpendAssignment {
    /// Spend validating key (any point, so tests can try off-curve ones).
    pub ak: Point,
    /// Nullifier key.
    pub nk: Fr,
    /// Randomizer.
    pub alpha: Scalar,
    /// The two inputs.
    pub inputs: [InputAssignment; 2],
    /// Change value.
    pub change_value: Fr,
    /// Change commitment randomness.
    pub change_rcm: Fr,
}

impl Drop for InputAssignment {
    fn drop(&mut self) {
        self.value.zeroize();
        self.expiry.zeroize();
        self.rho.zeroize();
        self.rcm.zeroize();
        // Where the note sits says which note is spent.
        self.path.position.zeroize();
        self.path.siblings.zeroize();
    }
}

impl Drop for SpendAssignment {
    fn drop(&mut self) {
        self.ak.x.zeroize();
        self.ak.y.zeroize();
        self.nk.zeroize();
        self.alpha.zeroize();
        self.change_value.zeroize();
        self.change_rcm.zeroize();
    }
}

impl std::fmt::Debug for InputAssignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InputAssignment(<secret>)")
    }
}

impl std::fmt::Debug for SpendAssignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpendAssignment(<secret>)")
    }
}

/// The Spend circuit; `None` fields synthesize the shape only (setup).
#[derive(Clone, Debug, Default)]
pub struct SpendCircuit {
    /// Public inputs.
    pub public: Option<SpendPublicInputs>,
    /// Witness.
    pub assignment: Option<SpendAssignment>,
}

impl SpendCircuit {
    /// The circuit for `witness` and its public inputs.
    pub fn new(public: SpendPublicInputs, witness: &SpendWitness) -> Self {
        SpendCircuit {
            public: Some(public),
            assignment: Some(witness.assignment()),
        }
    }
}

fn witness<T: Clone>(
    cs: &ConstraintSystemRef<Fr>,
    source: Option<&T>,
    get: impl FnOnce(&T) -> Fr,
) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_witness(cs.clone(), || {
        source.map(get).ok_or(SynthesisError::AssignmentMissing)
    })
}

impl ConstraintSynthesizer<Fr> for SpendCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let values = self.public.map(|p| p.to_field_elements());
        let public = (0..SpendPublicInputs::LEN)
            .map(|i| {
                FpVar::new_input(cs.clone(), || {
                    values
                        .as_ref()
                        .map(|v| v[i])
                        .ok_or(SynthesisError::AssignmentMissing)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let [root, nf1, nf2, change_cm, asset, paid, merchant, binding, rk_x, rk_y, epoch] =
            <[FpVar<Fr>; SpendPublicInputs::LEN]>::try_from(public)
                .map_err(|_| SynthesisError::Unsatisfiable)?;

        let a = self.assignment.as_ref();
        let ak = PointVar::new_witness(cs.clone(), a.map(|a| &a.ak))?;
        let nk = witness(&cs, a, |a| a.nk)?;
        let alpha = scalar_bits_witness(cs.clone(), a.map(|a| &a.alpha))?;
        let rk = ak.add(&fixed_base_mul(&alpha, &babyjub::base())?)?;
        rk.x().enforce_equal(&rk_x)?;
        rk.y().enforce_equal(&rk_y)?;
        let owner = gadgets::owner(&ak, &nk)?;

        let mut total_in = FpVar::constant(Fr::from(0u64));
        let mut expiries = Vec::with_capacity(2);
        for (i, nf) in [nf1.clone(), nf2].iter().enumerate() {
            let input = a.map(|a| &a.inputs[i]);
            let value = witness(&cs, input, |x| x.value)?;
            let expiry = witness(&cs, input, |x| x.expiry)?;
            let rho = witness(&cs, input, |x| x.rho)?;
            let rcm = witness(&cs, input, |x| x.rcm)?;
            let path = MerklePathVar::new_witness(cs.clone(), input.map(|x| &x.path))?;

            gadgets::enforce_u64(&value)?;
            gadgets::enforce_u32(&(&expiry - &epoch))?;
            let tag = gadgets::asset_tag(&asset, &expiry);
            let cm = gadgets::note_commitment(&tag, &value, &owner, &rho, &rcm)?;
            let computed_root = path.root(&cm)?;
            (computed_root - &root).mul_equals(&value, &FpVar::constant(Fr::from(0u64)))?;
            gadgets::nullifier(&nk, &rho, &cm)?.enforce_equal(nf)?;
            total_in += value;
            expiries.push(expiry);
        }

        // b = [e₁ ≤ e₂], checked by the sign of (2b − 1)·(e₂ − e₁).
        let first_expires_first = Boolean::new_witness(cs.clone(), || {
            a.map(|a| a.inputs[0].expiry.into_bigint() <= a.inputs[1].expiry.into_bigint())
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        let (e1, e2) = (&expiries[0], &expiries[1]);
        let sign = FpVar::from(first_expires_first.clone()).double()? - Fr::from(1u64);
        gadgets::enforce_u32(&(sign * (e2 - e1)))?;
        let change_expiry = first_expires_first.select(e1, e2)?;

        let change_value = witness(&cs, a, |a| a.change_value)?;
        let change_rcm = witness(&cs, a, |a| a.change_rcm)?;
        gadgets::enforce_u64(&change_value)?;
        let change_tag = gadgets::asset_tag(&asset, &change_expiry);
        gadgets::note_commitment(&change_tag, &change_value, &owner, &nf1, &change_rcm)?
            .enforce_equal(&change_cm)?;
        total_in.enforce_equal(&(change_value + paid))?;

        let _merchant_squared = merchant.square()?;
        let _binding_squared = binding.square()?;
        Ok(())
    }
}

/// A dummy input for a one-note spend: value 0, fresh `ρ`, owned by the
/// spender (so its nullifier is computable), not in the tree.
/// It never expires, so the change keeps the real input's expiry.
pub fn dummy_input<R: rand_core::RngCore + rand_core::CryptoRng>(
    asset: AssetId,
    address: crate::keys::ShieldedAddress,
    rng: &mut R,
) -> SpendInput {
    SpendInput {
        note: Note::new(asset, Expiry::NEVER, 0, address, Rho::random(rng), rng),
        path: MerklePath::dummy(),
    }
}
