//! The Poseidon hash as an R1CS gadget, constraint-for-constraint the
//! permutation in [`super::native`].

use ark_bn254::Fr;
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::SynthesisError;

use super::params::params_for_arity;

/// `Poseidon(inputs)` in-circuit; equal to [`super::hash`] on the same values.
pub fn hash(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let params = params_for_arity(inputs.len());
    let mut state = Vec::with_capacity(params.width);
    state.push(FpVar::constant(Fr::from(0u64)));
    state.extend_from_slice(inputs);
    for r in 0..params.rounds() {
        for (i, s) in state.iter_mut().enumerate() {
            *s += params.round_constant(r, i);
        }
        if params.is_full_round(r) {
            for s in state.iter_mut() {
                *s = pow5(s)?;
            }
        } else {
            state[0] = pow5(&state[0])?;
        }
        state = params
            .mds
            .iter()
            .map(|row| {
                row.iter()
                    .zip(state.iter())
                    .fold(FpVar::constant(Fr::from(0u64)), |acc, (m, s)| acc + s * *m)
            })
            .collect();
    }
    Ok(state.swap_remove(0))
}

/// Two-to-one compression: `Poseidon([left, right])`.
pub fn hash2(left: &FpVar<Fr>, right: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[left.clone(), right.clone()])
}

fn pow5(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}
