//! The QAP witness map: from a satisfying assignment `z` of an R1CS to the
//! quotient polynomial `h` whose coefficients Groth16's `C` term commits to.
//!
//! Over the domain `H = ⟨ω⟩` of size `n = 2^k ≥ m + ℓ` (`m` constraints,
//! `ℓ` inputs, the leading 1 included), the evaluations are
//!
//! ```text
//! a_i = ⟨A_i, z⟩,  b_i = ⟨B_i, z⟩,  c_i = a_i·b_i     for i < m
//! a_{m+j} = z_j                                         for j < ℓ (input consistency)
//! ```
//!
//! and zero elsewhere. Interpolating gives polynomials `A, B, C` with
//! `A·B − C` divisible by `Z(X) = X^n − 1`; `h = (A·B − C)/Z`. The division
//! is done on the coset `g·H` (`g` = `Fr::GENERATOR`), where `Z` is the
//! non-zero constant `g^n − 1`:
//!
//! ```text
//! h = coset_iNTT((coset_NTT(iNTT(a)) ∘ coset_NTT(iNTT(b)) − coset_NTT(iNTT(c))) / (g^n − 1))
//! ```
//!
//! Seven NTTs of size `n`: arkworks' `LibsnarkReduction` step for step, so
//! `h` (and the proof) is the same vector whichever backend computes it.
//! [`quotient`] does it on the CPU; the CUDA backend runs the same chain
//! for a whole batch on the device (`gpu/src/ntt.cu`).

use ark_bn254::Fr;
use ark_ff::{FftField, Field, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rayon::prelude::*;

use crate::errors::BackendError;
use crate::r1cs::{R1cs, RowValues};

/// The largest domain `Fr` has: its 2-adicity is 28.
pub const MAX_LOG_N: usize = 28;

/// One statement's evaluations `a, b, c` over the domain (each `n` long).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QapEvaluations {
    /// `⟨A_i, z⟩`, then the inputs.
    pub a: Vec<Fr>,
    /// `⟨B_i, z⟩`.
    pub b: Vec<Fr>,
    /// `a_i·b_i` (`= ⟨C_i, z⟩` for a satisfying `z`).
    pub c: Vec<Fr>,
}

/// `k` with `n = 2^k` the smallest power of two `≥ m + ℓ` (and `≥ 2`): the
/// radix-2 domain arkworks' `GeneralEvaluationDomain` picks for BN254 for
/// any circuit with more than one row.
pub fn domain_log2(r1cs: &R1cs) -> Result<usize, BackendError> {
    let rows = r1cs.num_constraints + r1cs.num_inputs;
    let log_n = rows.max(2).next_power_of_two().trailing_zeros() as usize;
    if log_n > MAX_LOG_N {
        return Err(BackendError::Domain(format!(
            "{rows} rows exceed the largest domain, 2^{MAX_LOG_N}"
        )));
    }
    Ok(log_n)
}

/// Whether `log_n` is a domain `Fr` has, the rows and inputs fit it, and
/// `z` holds the inputs: checked before any work or allocation.
fn check_fits(r1cs: &R1cs, z: &[Fr], log_n: usize) -> Result<(), BackendError> {
    if !(1..=MAX_LOG_N).contains(&log_n) {
        return Err(BackendError::Domain(format!(
            "no radix-2 domain of size 2^{log_n}"
        )));
    }
    let (m, inputs) = (r1cs.num_constraints, r1cs.num_inputs);
    if m.saturating_add(inputs) > 1usize << log_n || z.len() < inputs {
        return Err(BackendError::Domain(format!(
            "{m} constraints and {inputs} inputs do not fit 2^{log_n}, or z lacks the inputs"
        )));
    }
    Ok(())
}

/// The evaluations of `z` under `r1cs` over the domain of size `2^log_n`.
/// A matrix entry naming a column outside `z` is an error, not a panic.
pub fn evaluations(r1cs: &R1cs, z: &[Fr], log_n: usize) -> Result<QapEvaluations, BackendError> {
    check_fits(r1cs, z, log_n)?;
    let [a_matrix, b_matrix, _] = &r1cs.matrices[..] else {
        return Err(BackendError::Domain("R1CS must have three matrices".into()));
    };
    let dot = |row: Option<&Vec<(Fr, usize)>>| -> Option<Fr> {
        row.map_or(Some(Fr::zero()), |row| {
            row.iter()
                .map(|(coeff, column)| z.get(*column).map(|value| *coeff * value))
                .sum()
        })
    };
    let rows: Option<(Vec<Fr>, Vec<Fr>)> = (0..r1cs.num_constraints)
        .into_par_iter()
        .map(|i| Some((dot(a_matrix.get(i))?, dot(b_matrix.get(i))?)))
        .collect::<Option<Vec<(Fr, Fr)>>>()
        .map(|rows| rows.into_iter().unzip());
    let (a, b) = rows.ok_or_else(|| {
        BackendError::Domain("a constraint names a variable outside the assignment".into())
    })?;
    evaluations_from_rows(r1cs, z, &RowValues { a, b }, log_n)
}

/// The evaluations over the domain of size `2^log_n` from the row values
/// the satisfaction check computed (`Synthesized::rows`).
pub fn evaluations_from_rows(
    r1cs: &R1cs,
    z: &[Fr],
    rows: &RowValues,
    log_n: usize,
) -> Result<QapEvaluations, BackendError> {
    check_fits(r1cs, z, log_n)?;
    let n = 1usize << log_n;
    let (m, inputs) = (r1cs.num_constraints, r1cs.num_inputs);
    if rows.a.len() != m || rows.b.len() != m {
        return Err(BackendError::Domain(format!(
            "{} and {} row values for {m} constraints",
            rows.a.len(),
            rows.b.len()
        )));
    }
    let mut a = vec![Fr::zero(); n];
    let mut b = vec![Fr::zero(); n];
    let mut c = vec![Fr::zero(); n];
    a[..m].copy_from_slice(&rows.a);
    b[..m].copy_from_slice(&rows.b);
    c[..m]
        .par_iter_mut()
        .zip(rows.a.par_iter().zip(&rows.b))
        .for_each(|(c, (x, y))| *c = *x * y);
    a[m..m + inputs].copy_from_slice(&z[..inputs]);
    Ok(QapEvaluations { a, b, c })
}

/// `h` from one statement's evaluations, on the CPU (ark-poly's radix-2
/// NTTs, each parallel inside).
pub fn quotient(log_n: usize, e: &QapEvaluations) -> Result<Vec<Fr>, BackendError> {
    let no_domain = || BackendError::Domain(format!("no radix-2 domain of size 2^{log_n}"));
    if !(1..=MAX_LOG_N).contains(&log_n) {
        return Err(no_domain());
    }
    let n = 1usize << log_n;
    let domain = Radix2EvaluationDomain::<Fr>::new(n).ok_or_else(no_domain)?;
    if [&e.a, &e.b, &e.c].iter().any(|v| v.len() != n) {
        return Err(BackendError::Domain(format!(
            "evaluations must have the domain's {n} elements"
        )));
    }
    let coset = domain
        .get_coset(Fr::GENERATOR)
        .ok_or_else(|| BackendError::Domain("no coset".into()))?;
    let on_coset = |v: &[Fr]| {
        let mut v = v.to_vec();
        domain.ifft_in_place(&mut v);
        coset.fft_in_place(&mut v);
        v
    };
    let (a, b, c) = (on_coset(&e.a), on_coset(&e.b), on_coset(&e.c));
    let z_inv = domain
        .evaluate_vanishing_polynomial(Fr::GENERATOR)
        .inverse()
        .ok_or_else(|| BackendError::Domain("Z vanishes on the coset".into()))?;
    let mut h: Vec<Fr> = a
        .par_iter()
        .zip(&b)
        .zip(&c)
        .map(|((a, b), c)| (*a * b - c) * z_inv)
        .collect();
    coset.ifft_in_place(&mut h);
    Ok(h)
}
