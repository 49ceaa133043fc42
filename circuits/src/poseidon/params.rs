//! Round constants and MDS matrices, generated exactly as the Poseidon
//! reference (`generate_parameters_grain.sage`) and circomlib generate them.
//!
//! An 80-bit Grain LFSR is seeded with the instance description
//! `(field = prime, S-box = x^α, n = 254, t, R_F, R_P)` and clocked 160 times
//! before any output is used. Output bits are self-shrunk: of each pair of
//! clocked bits `(b₁, b₂)`, `b₂` is emitted when `b₁ = 1` and both are dropped
//! otherwise. A field element is `n` emitted bits, most significant first:
//! round constants reject values `≥ p` and draw again, the Cauchy MDS matrix
//! `M[i][j] = 1/(x_i + y_j)` takes its `2t` values reduced mod `p`.
//!
//! Nothing here is hard-coded: the constants are regenerated on first use and
//! checked against circomlib's published hash outputs in the tests.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{BigInteger, Field, PrimeField};

/// Full rounds (split evenly before and after the partial rounds).
pub const FULL_ROUNDS: usize = 8;

/// Widest state this crate instantiates (5 inputs + the capacity element).
pub const MAX_WIDTH: usize = 6;

/// Partial rounds per state width `t`, as circomlib's `N_ROUNDS_P[t - 2]`.
const PARTIAL_ROUNDS: [usize; MAX_WIDTH - 1] = [56, 57, 56, 60, 60];

/// Constants of one Poseidon instance of width `t`.
#[derive(Debug)]
pub struct PoseidonParams {
    /// State width `t` (inputs + 1).
    pub width: usize,
    /// Partial rounds `R_P`.
    pub partial_rounds: usize,
    /// `(R_F + R_P) · t` additive round constants, round-major.
    pub round_constants: Vec<Fr>,
    /// The `t × t` MDS matrix; the linear layer is `s'_i = Σ_j M[i][j]·s_j`.
    pub mds: Vec<Vec<Fr>>,
}

impl PoseidonParams {
    /// Total rounds `R_F + R_P`.
    pub fn rounds(&self) -> usize {
        FULL_ROUNDS + self.partial_rounds
    }

    /// Whether round `r` applies the S-box to every state element.
    pub fn is_full_round(&self, r: usize) -> bool {
        r < FULL_ROUNDS / 2 || r >= FULL_ROUNDS / 2 + self.partial_rounds
    }

    /// Round constant for round `r`, state element `i`.
    pub fn round_constant(&self, r: usize, i: usize) -> Fr {
        self.round_constants[r * self.width + i]
    }
}

/// Parameters for hashing `arity` field elements (`1 ≤ arity ≤ 5`).
///
/// # Panics
/// On an arity this crate does not instantiate: arities are fixed by the
/// protocol at compile time, so this is a programming error, never input.
pub fn params_for_arity(arity: usize) -> &'static PoseidonParams {
    static CACHE: [OnceLock<PoseidonParams>; MAX_WIDTH - 1] =
        [const { OnceLock::new() }; MAX_WIDTH - 1];
    assert!(
        (1..MAX_WIDTH).contains(&arity),
        "Poseidon arity {arity} is not instantiated"
    );
    CACHE[arity - 1].get_or_init(|| generate(arity + 1))
}

fn generate(width: usize) -> PoseidonParams {
    let partial_rounds = PARTIAL_ROUNDS[width - 2];
    let mut grain = Grain::new(width, FULL_ROUNDS, partial_rounds);
    let round_constants = (0..(FULL_ROUNDS + partial_rounds) * width)
        .map(|_| grain.next_field_element_rejecting())
        .collect();
    let mds = loop {
        if let Some(m) = cauchy_matrix(&mut grain, width) {
            break m;
        }
    };
    PoseidonParams {
        width,
        partial_rounds,
        round_constants,
        mds,
    }
}

fn cauchy_matrix(grain: &mut Grain, width: usize) -> Option<Vec<Vec<Fr>>> {
    let values: Vec<Fr> = (0..2 * width)
        .map(|_| grain.next_field_element_reduced())
        .collect();
    for (i, a) in values.iter().enumerate() {
        if values[i + 1..].contains(a) {
            return None;
        }
    }
    let (xs, ys) = values.split_at(width);
    xs.iter()
        .map(|x| ys.iter().map(|y| (*x + y).inverse()).collect())
        .collect()
}

/// The Grain LFSR of the Poseidon paper, appendix F.
struct Grain {
    state: [bool; 80],
}

impl Grain {
    fn new(width: usize, full_rounds: usize, partial_rounds: usize) -> Self {
        let mut bits = Vec::with_capacity(80);
        let mut push = |value: u64, len: usize| {
            for i in (0..len).rev() {
                bits.push((value >> i) & 1 == 1);
            }
        };
        push(1, 2); // prime field
        push(0, 4); // S-box x^α
        push(u64::from(Fr::MODULUS_BIT_SIZE), 12);
        push(width as u64, 12);
        push(full_rounds as u64, 10);
        push(partial_rounds as u64, 10);
        push((1 << 30) - 1, 30);
        let mut grain = Grain {
            state: bits.try_into().expect("80 seed bits"),
        };
        for _ in 0..160 {
            grain.clock();
        }
        grain
    }

    fn clock(&mut self) -> bool {
        let s = &self.state;
        let bit = s[62] ^ s[51] ^ s[38] ^ s[23] ^ s[13] ^ s[0];
        self.state.copy_within(1.., 0);
        self.state[79] = bit;
        bit
    }

    fn next_bit(&mut self) -> bool {
        loop {
            let keep = self.clock();
            let bit = self.clock();
            if keep {
                return bit;
            }
        }
    }

    fn next_bits_as_bigint(&mut self) -> <Fr as PrimeField>::BigInt {
        let n = Fr::MODULUS_BIT_SIZE as usize;
        let msb_first: Vec<bool> = (0..n).map(|_| self.next_bit()).collect();
        let le: Vec<bool> = msb_first.into_iter().rev().collect();
        <Fr as PrimeField>::BigInt::from_bits_le(&le)
    }

    fn next_field_element_rejecting(&mut self) -> Fr {
        loop {
            if let Some(f) = Fr::from_bigint(self.next_bits_as_bigint()) {
                return f;
            }
        }
    }

    fn next_field_element_reduced(&mut self) -> Fr {
        Fr::from_le_bytes_mod_order(&self.next_bits_as_bigint().to_bytes_le())
    }
}
