//! The Poseidon hash as an R1CS gadget, constraint-for-constraint the
//! permutation in [`super::native`].
//!
//! Each round's ARK and mix layers become one symbolic linear combination per
//! state element ([`linear`]), built directly over the previous round's
//! variables. Chaining `FpVar` additions instead would create `O(t²)`
//! intermediate combinations per round, each inlined separately when the
//! constraint system is finalized; this keeps finalization (a tenth of Spend
//! proving time) proportional to the matrices' size.

use ark_bn254::Fr;
use ark_r1cs_std::{
    fields::fp::{AllocatedFp, FpVar},
    prelude::*,
};
use ark_relations::gr1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};

use super::domain::Domain;
use super::params::params_for_arity;

/// `Σ coefficient·var + constant` as one variable (no constraint).
fn linear(terms: &[(Fr, &FpVar<Fr>)], constant: Fr) -> Result<FpVar<Fr>, SynthesisError> {
    let mut lc = LinearCombination::zero();
    let mut cs = ConstraintSystemRef::None;
    let mut value = Some(constant);
    let mut folded_constant = constant;
    let mut any_variable = false;
    for (coefficient, var) in terms {
        match var {
            FpVar::Constant(k) => folded_constant += *coefficient * k,
            FpVar::Var(allocated) => {
                lc += (*coefficient, allocated.variable);
                cs = cs.or(allocated.cs.clone());
                value = value.and_then(|v| Some(v + *coefficient * allocated.value().ok()?));
                any_variable = true;
            }
        }
    }
    if !any_variable {
        return Ok(FpVar::Constant(folded_constant));
    }
    let value = value.map(|v| v + folded_constant - constant);
    lc += (folded_constant, Variable::One);
    let variable = cs.new_lc(|| lc)?;
    Ok(FpVar::Var(AllocatedFp::new(value, variable, cs)))
}

/// `Poseidon_D(inputs)` in-circuit; equal to [`super::hash`] on the same
/// domain and values. The tag is a constant, so it costs no constraint.
pub fn hash(domain: Domain, inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let params = params_for_arity(inputs.len());
    let width = params.width;
    let mut state = Vec::with_capacity(width);
    state.push(FpVar::constant(domain.tag()));
    state.extend_from_slice(inputs);
    for r in 0..params.rounds() {
        // After ARK and the S-box layer, element j is `y_j + offset_j`:
        // S-boxed elements absorb their round constant, the others carry it
        // into the mix layer's constant term.
        let mut y = Vec::with_capacity(width);
        let mut offset = vec![Fr::from(0u64); width];
        for (j, s) in state.iter().enumerate() {
            let c = params.round_constant(r, j);
            if params.is_full_round(r) || j == 0 {
                y.push(pow5(&linear(&[(Fr::from(1u64), s)], c)?)?);
            } else {
                y.push(s.clone());
                offset[j] = c;
            }
        }
        state = params
            .mds
            .iter()
            .map(|row| {
                let terms: Vec<(Fr, &FpVar<Fr>)> = row.iter().copied().zip(y.iter()).collect();
                let constant = row.iter().zip(&offset).map(|(m, o)| *m * o).sum();
                linear(&terms, constant)
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(state.swap_remove(0))
}

fn pow5(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}
