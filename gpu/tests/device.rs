//! GPU against CPU on a real device. Without a usable device the tests pass
//! with a note (CI has no GPU), unless `COALITION_REQUIRE_GPU=1`, which
//! turns a missing device into a failure (set it on GPU machines).

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use coalition_gpu::layout::{G1, G2};
use coalition_gpu::{libraries_present, CudaMsm};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn device() -> Option<CudaMsm> {
    let required = std::env::var("COALITION_REQUIRE_GPU").as_deref() == Ok("1");
    match libraries_present().and_then(|()| CudaMsm::new(0)) {
        Ok(d) => Some(d),
        Err(e) if required => panic!("COALITION_REQUIRE_GPU=1 but no GPU: {e}"),
        Err(e) => {
            eprintln!("no GPU ({e}); skipping the device comparison");
            None
        }
    }
}

fn random_points<G: PrimeGroup + CurveGroup>(n: usize, rng: &mut ChaCha20Rng) -> Vec<G::Affine> {
    let g = G::generator();
    let projective: Vec<G> = (0..n).map(|_| g * G::ScalarField::rand(rng)).collect();
    G::normalize_batch(&projective)
}

#[test]
fn gpu_msm_equals_cpu_msm() {
    let Some(gpu) = device() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let g1: Vec<G1Affine> = random_points::<G1Projective>(1 << 14, &mut rng);
    for n in [1usize, 3, 100, 1000, 1 << 14] {
        let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        scalars[0] = -Fr::from(1u64);
        let mut bases = g1[..n].to_vec();
        if n > 4 {
            scalars[1] = Fr::zero();
            bases[2] = G1Affine::zero();
            bases[3] = bases[4];
        }
        assert_eq!(
            gpu.msm::<G1>(&bases, &scalars).unwrap(),
            G1Projective::msm(&bases, &scalars).unwrap(),
            "G1, n = {n}"
        );
    }
    let g2: Vec<G2Affine> = random_points::<G2Projective>(2048, &mut rng);
    for n in [1usize, 77, 2048] {
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        assert_eq!(
            gpu.msm::<G2>(&g2[..n], &scalars).unwrap(),
            G2Projective::msm(&g2[..n], &scalars).unwrap(),
            "G2, n = {n}"
        );
    }
}

#[test]
fn gpu_batch_equals_cpu_msms() {
    let Some(gpu) = device() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let g1: Vec<G1Affine> = random_points::<G1Projective>(5000, &mut rng);
    let sets: Vec<Vec<Fr>> = (0..5)
        .map(|_| (0..5000).map(|_| Fr::rand(&mut rng)).collect())
        .collect();
    let refs: Vec<&[Fr]> = sets.iter().map(|s| s.as_slice()).collect();
    let got = gpu.msm_batch::<G1>(&g1, &refs).unwrap();
    for (set, result) in sets.iter().zip(got) {
        assert_eq!(result, G1Projective::msm(&g1, set).unwrap());
    }
    let g2: Vec<G2Affine> = random_points::<G2Projective>(600, &mut rng);
    let sets: Vec<Vec<Fr>> = (0..3)
        .map(|_| (0..600).map(|_| Fr::rand(&mut rng)).collect())
        .collect();
    let refs: Vec<&[Fr]> = sets.iter().map(|s| s.as_slice()).collect();
    for (set, result) in sets.iter().zip(gpu.msm_batch::<G2>(&g2, &refs).unwrap()) {
        assert_eq!(result, G2Projective::msm(&g2, set).unwrap());
    }
}

#[test]
fn missing_device_is_an_error_not_a_panic() {
    // Device 4096 does not exist anywhere; with no library at all this is
    // the NoDriver error. Either way: an error, no panic.
    assert!(CudaMsm::new(4096).is_err());
}
