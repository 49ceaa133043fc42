//! The kernel sources compiled as host C++ (g++) and checked against
//! arkworks: field arithmetic (Fq, Fq2, Fr) word for word, the whole MSM
//! pipeline (digits, counting sort, accumulation, reduction) for G1 and
//! G2, and the witness map's NTT pipeline. This runs on every CI
//! machine, GPU or not, so a wrong kernel fails CI before it reaches a GPU.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, VariableBaseMSM};
use ark_ff::{Field, UniformRand, Zero};
use coalition_gpu::layout::{
    bases_to_words, combine_windows, fr_words, xyzz_to_projective, DeviceCurve, DeviceField, G1, G2,
};
use coalition_gpu::ntt::{fr_from_words, NttTables};
use coalition_gpu::Products;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use support::{arkworks_quotient, random_points};

fn emulator(product: Products) -> &'static PathBuf {
    static CHAINS: OnceLock<PathBuf> = OnceLock::new();
    static PORTABLE: OnceLock<PathBuf> = OnceLock::new();
    let (cell, name, define) = match product {
        Products::CarryChains => (&CHAINS, "kernels-emulate", None),
        Products::Portable => (
            &PORTABLE,
            "kernels-emulate-portable",
            Some("-DCOALITION_PORTABLE_ARITHMETIC"),
        ),
    };
    cell.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulate.cpp");
        let status = Command::new(std::env::var("CXX").unwrap_or_else(|_| "g++".into()))
            .args(["-O2", "-std=c++17"])
            .args(define)
            .args(["-x", "c++"])
            .arg(&src)
            .arg("-o")
            .arg(&out)
            .status()
            .expect("a C++ compiler (g++) is needed to emulate the kernels");
        assert!(
            status.success(),
            "the kernel sources do not compile as host C++"
        );
        out
    })
}

/// Sends `words` (one request, terminated by the 0 opcode) to the default
/// (carry-chain) emulator and returns the reply's words.
fn run(words: &[u32]) -> Vec<u32> {
    run_with(Products::CarryChains, words)
}

fn run_with(product: Products, words: &[u32]) -> Vec<u32> {
    let mut child = Command::new(emulator(product))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("emulator starts");
    let mut input = String::with_capacity(words.len() * 11);
    for w in words.iter().chain(std::iter::once(&0)) {
        input.push_str(&w.to_string());
        input.push(' ');
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("emulator runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf8")
        .split_whitespace()
        .map(|t| t.parse().expect("u32"))
        .collect()
}

fn words<F: DeviceField>(f: &F) -> Vec<u32> {
    let mut out = Vec::new();
    f.push_words(&mut out);
    out
}

#[test]
fn field_arithmetic_matches_arkworks() {
    for product in [Products::CarryChains, Products::Portable] {
        field_arithmetic_matches_arkworks_with(product);
    }
}

fn field_arithmetic_matches_arkworks_with(product: Products) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut edge: Vec<Fq> = vec![
        Fq::zero(),
        Fq::ONE,
        -Fq::ONE,
        Fq::from(2u64),
        -Fq::from(2u64),
    ];
    edge.extend((0..40).map(|_| Fq::rand(&mut rng)));
    for a in &edge {
        // Every edge value as b too (a + b = p, a − (−1), products by −1),
        // and every 7th random one.
        for b in edge.iter().take(5).chain(edge.iter().skip(5).step_by(7)) {
            for (op, expected) in [(1u32, *a * b), (2, *a + b), (3, *a - b)] {
                let mut req = vec![op];
                req.extend(words(a));
                req.extend(words(b));
                assert_eq!(
                    Fq::from_words(&run_with(product, &req)),
                    expected,
                    "op {op} on {a} and {b} ({product:?})"
                );
            }
        }
    }
    for _ in 0..20 {
        let (a, b) = (Fq2::rand(&mut rng), Fq2::rand(&mut rng));
        let mut req = vec![4u32];
        req.extend(words(&a));
        req.extend(words(&b));
        assert_eq!(Fq2::from_words(&run_with(product, &req)), a * b);
    }
}

/// The emulated batch MSM: one result per scalar set, all over `bases`,
/// with the device's reduction threads per window.
fn emulated_batch<C: DeviceCurve>(
    op: u32,
    bases: &[C::Affine],
    sets: &[&[Fr]],
) -> Vec<C::Projective> {
    emulated_batch_with_threads::<C>(op, bases, sets, 0)
}

/// As [`emulated_batch`], with `threads` reduction threads per window (a
/// power of two at most B; 0 for the device's rule).
fn emulated_batch_with_threads<C: DeviceCurve>(
    op: u32,
    bases: &[C::Affine],
    sets: &[&[Fr]],
    threads: u32,
) -> Vec<C::Projective> {
    let mut req = vec![op, bases.len() as u32, sets.len() as u32, threads];
    req.extend(bases_to_words::<C>(bases));
    for set in sets {
        req.extend(fr_words(&[set]));
    }
    let reply = run(&req);
    let (c, windows) = (reply[0] as usize, reply[1] as usize);
    let point_words = 4 * C::Base::WORDS;
    assert_eq!(reply.len(), 2 + sets.len() * windows * point_words);
    let sums: Vec<C::Projective> = reply[2..]
        .chunks_exact(point_words)
        .map(xyzz_to_projective::<C>)
        .collect();
    sums.chunks(windows)
        .map(|w| combine_windows::<C>(w, c))
        .collect()
}

fn emulated_msm<C: DeviceCurve>(op: u32, bases: &[C::Affine], scalars: &[Fr]) -> C::Projective {
    emulated_batch::<C>(op, bases, &[scalars]).remove(0)
}

#[test]
fn whole_pipeline_matches_arkworks_in_g1() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let bases: Vec<G1Affine> = random_points::<G1Projective>(600, &mut rng);
    for n in [1usize, 2, 5, 40, 600] {
        let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        scalars[0] = -Fr::from(1u64);
        if n > 3 {
            scalars[1] = Fr::zero();
            scalars[2] = Fr::from(1u64);
        }
        let mut b = bases[..n].to_vec();
        if n > 4 {
            b[3] = G1Affine::zero();
            b[4] = b[2]; // a repeated base: exercises the doubling branch
            scalars[4] = scalars[2];
        }
        assert_eq!(
            emulated_msm::<G1>(5, &b, &scalars),
            G1Projective::msm(&b, &scalars).unwrap(),
            "n = {n}"
        );
    }
}

#[test]
fn whole_pipeline_matches_arkworks_in_g2() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let bases: Vec<G2Affine> = random_points::<G2Projective>(64, &mut rng);
    for n in [1usize, 9, 64] {
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        assert_eq!(
            emulated_msm::<G2>(6, &bases[..n], &scalars),
            G2Projective::msm(&bases[..n], &scalars).unwrap(),
            "n = {n}"
        );
    }
}

#[test]
fn batched_pipeline_gives_each_msm_its_own_result() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let g1: Vec<G1Affine> = random_points::<G1Projective>(300, &mut rng);
    let sets: Vec<Vec<Fr>> = (0..3)
        .map(|_| (0..300).map(|_| Fr::rand(&mut rng)).collect())
        .collect();
    let refs: Vec<&[Fr]> = sets.iter().map(|s| s.as_slice()).collect();
    let got = emulated_batch::<G1>(5, &g1, &refs);
    for (set, result) in sets.iter().zip(got) {
        assert_eq!(result, G1Projective::msm(&g1, set).unwrap());
    }
    let g2: Vec<G2Affine> = random_points::<G2Projective>(20, &mut rng);
    let sets: Vec<Vec<Fr>> = (0..2)
        .map(|_| (0..20).map(|_| Fr::rand(&mut rng)).collect())
        .collect();
    let refs: Vec<&[Fr]> = sets.iter().map(|s| s.as_slice()).collect();
    for (set, result) in sets.iter().zip(emulated_batch::<G2>(6, &g2, &refs)) {
        assert_eq!(result, G2Projective::msm(&g2, set).unwrap());
    }
}

/// Every reduction width the device can use (2 to B threads per window,
/// so one to log2(B) − 1 folds before the last window sum) gives each
/// window the same sum.
#[test]
fn reduction_tree_sums_every_width_alike() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    // 100 points: c = 5, B = 16.
    let bases: Vec<G1Affine> = random_points::<G1Projective>(100, &mut rng);
    let scalars: Vec<Fr> = (0..100).map(|_| Fr::rand(&mut rng)).collect();
    let expected = G1Projective::msm(&bases, &scalars).unwrap();
    for threads in [2u32, 4, 8, 16] {
        let got = emulated_batch_with_threads::<G1>(5, &bases, &[&scalars], threads);
        assert_eq!(got, vec![expected], "{threads} threads per window");
    }
    let g2: Vec<G2Affine> = random_points::<G2Projective>(30, &mut rng);
    let scalars: Vec<Fr> = (0..30).map(|_| Fr::rand(&mut rng)).collect();
    let expected = G2Projective::msm(&g2, &scalars).unwrap();
    for threads in [2u32, 16] {
        let got = emulated_batch_with_threads::<G2>(6, &g2, &[&scalars], threads);
        assert_eq!(got, vec![expected], "G2, {threads} threads per window");
    }
}

fn one_fr_words(x: &Fr) -> Vec<u32> {
    fr_words(&[std::slice::from_ref(x)])
}

#[test]
fn scalar_field_arithmetic_matches_arkworks() {
    for product in [Products::CarryChains, Products::Portable] {
        scalar_field_arithmetic_matches_arkworks_with(product);
    }
}

fn scalar_field_arithmetic_matches_arkworks_with(product: Products) {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut edge: Vec<Fr> = vec![
        Fr::zero(),
        Fr::ONE,
        -Fr::ONE,
        Fr::from(2u64),
        -Fr::from(2u64),
    ];
    edge.extend((0..30).map(|_| Fr::rand(&mut rng)));
    for a in &edge {
        for b in edge.iter().take(5).chain(edge.iter().skip(5).step_by(5)) {
            let mut req = vec![8u32];
            req.extend(one_fr_words(a));
            req.extend(one_fr_words(b));
            let got = fr_from_words(&run_with(product, &req)).unwrap();
            assert_eq!(
                got,
                vec![*a * b, *a + b, *a - b],
                "{a} and {b} ({product:?})"
            );
        }
    }
}

#[test]
fn witness_map_pipeline_matches_arkworks() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    for (log_n, count) in [(1usize, 1usize), (2, 2), (5, 3), (10, 2)] {
        let n = 1 << log_n;
        let random = |rng: &mut ChaCha20Rng| -> Vec<Vec<Fr>> {
            (0..count)
                .map(|_| (0..n).map(|_| Fr::rand(rng)).collect())
                .collect()
        };
        let (a, b, mut c) = (random(&mut rng), random(&mut rng), random(&mut rng));
        // One statement as a prover sends it: c = a∘b, zero past the rows.
        for i in 0..n {
            c[0][i] = a[0][i] * b[0][i];
        }
        let tables = NttTables::new(log_n).unwrap();
        let mut req = vec![7u32, log_n as u32, count as u32];
        for table in [
            &tables.omega,
            &tables.omega_inv,
            &tables.into_coset,
            &tables.out_of_coset,
        ] {
            req.extend(fr_words(&[table]));
        }
        req.extend(one_fr_words(&tables.z_inv));
        for vectors in [&a, &b, &c] {
            let refs: Vec<&[Fr]> = vectors.iter().map(Vec::as_slice).collect();
            req.extend(fr_words(&refs));
        }
        let got = fr_from_words(&run(&req)).unwrap();
        assert_eq!(got.len(), count * n);
        for (i, h) in got.chunks_exact(n).enumerate() {
            assert_eq!(
                h,
                arkworks_quotient(&a[i], &b[i], &c[i]),
                "2^{log_n}, vector {i}"
            );
        }
    }
}
