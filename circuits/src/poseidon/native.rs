//! The Poseidon permutation and hash on field elements.

use ark_bn254::Fr;
use ark_ff::Field;

use super::domain::Domain;
use super::params::{params_for_arity, PoseidonParams};

/// `Poseidon_D(inputs)`: the state is `[D, inputs…]` with `D` the domain's
/// tag, the output is state element 0 after the permutation. Every protocol
/// hash goes through here.
pub fn hash(domain: Domain, inputs: &[Fr]) -> Fr {
    hash_with_capacity(domain.tag(), inputs)
}

/// circomlib's plain `Poseidon(n)` (capacity 0). The protocol never uses
/// it; it exists so the permutation can be checked against circomlib's
/// published outputs.
pub fn circomlib_hash(inputs: &[Fr]) -> Fr {
    hash_with_capacity(Fr::from(0u64), inputs)
}

fn hash_with_capacity(capacity: Fr, inputs: &[Fr]) -> Fr {
    let params = params_for_arity(inputs.len());
    let mut state = Vec::with_capacity(params.width);
    state.push(capacity);
    state.extend_from_slice(inputs);
    permute(params, &mut state);
    state[0]
}

fn permute(params: &PoseidonParams, state: &mut [Fr]) {
    let mut next = vec![Fr::from(0u64); params.width];
    for r in 0..params.rounds() {
        for (i, s) in state.iter_mut().enumerate() {
            *s += params.round_constant(r, i);
        }
        if params.is_full_round(r) {
            state.iter_mut().for_each(|s| *s = pow5(*s));
        } else {
            state[0] = pow5(state[0]);
        }
        for (i, out) in next.iter_mut().enumerate() {
            *out = params.mds[i]
                .iter()
                .zip(state.iter())
                .map(|(m, s)| *m * s)
                .sum();
        }
        state.copy_from_slice(&next);
    }
}

fn pow5(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}
