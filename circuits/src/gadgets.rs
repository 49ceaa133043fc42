//! Small gadgets shared by the circuits.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;

use crate::babyjub::gadget::PointVar;
use crate::poseidon::{gadget as poseidon, Domain};

/// Enforces `0 ≤ v < 2^64`: 64 boolean witnesses whose weighted sum is `v`
/// (65 constraints). Without it a value could be `p − 1`, i.e. "−1".
pub fn enforce_u64(v: &FpVar<Fr>) -> Result<(), SynthesisError> {
    v.to_bits_le_with_top_bits_zero(64).map(|_| ())
}

/// Enforces `0 ≤ v < 2^32` (33 constraints): epoch arithmetic.
pub fn enforce_u32(v: &FpVar<Fr>) -> Result<(), SynthesisError> {
    v.to_bits_le_with_top_bits_zero(32).map(|_| ())
}

/// `asset + 2^64·expiry`, as [`crate::note::asset_tag`] (linear: no
/// constraint).
pub fn asset_tag(asset: &FpVar<Fr>, expiry: &FpVar<Fr>) -> FpVar<Fr> {
    asset + expiry * Fr::from(1u128 << 64)
}

/// `cm = Poseidon_cm(asset_tag, value, owner, ρ, rcm)`, as
/// [`crate::note::commit`] (`asset_tag` from [`asset_tag`]).
pub fn note_commitment(
    asset: &FpVar<Fr>,
    value: &FpVar<Fr>,
    owner: &FpVar<Fr>,
    rho: &FpVar<Fr>,
    rcm: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    poseidon::hash(
        Domain::NoteCommitment,
        &[
            asset.clone(),
            value.clone(),
            owner.clone(),
            rho.clone(),
            rcm.clone(),
        ],
    )
}

/// `nf = Poseidon_nf(nk, ρ, cm)`, as [`crate::note::nullifier`].
pub fn nullifier(
    nk: &FpVar<Fr>,
    rho: &FpVar<Fr>,
    commitment: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    poseidon::hash(
        Domain::Nullifier,
        &[nk.clone(), rho.clone(), commitment.clone()],
    )
}

/// `owner = Poseidon_owner(ak.x, ak.y, nk)`, as [`crate::keys::owner_tag`].
pub fn owner(ak: &PointVar, nk: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    poseidon::hash(Domain::Owner, &[ak.x().clone(), ak.y().clone(), nk.clone()])
}
