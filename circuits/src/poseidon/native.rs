//! The Poseidon permutation and hash on field elements.

use ark_bn254::Fr;
use ark_ff::Field;

use super::params::{params_for_arity, PoseidonParams};

/// `Poseidon(inputs)` with circomlib's conventions: the state is
/// `[0, inputs…]`, the output is state element 0 after the permutation.
pub fn hash(inputs: &[Fr]) -> Fr {
    let params = params_for_arity(inputs.len());
    let mut state = Vec::with_capacity(params.width);
    state.push(Fr::from(0u64));
    state.extend_from_slice(inputs);
    permute(params, &mut state);
    state[0]
}

/// Two-to-one compression used by the Merkle tree: `Poseidon([left, right])`.
pub fn hash2(left: Fr, right: Fr) -> Fr {
    hash(&[left, right])
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
