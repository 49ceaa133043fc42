//! GPU against CPU on a real device. Without a usable device the tests pass
//! with a note (CI has no GPU), unless `COALITION_REQUIRE_GPU=1`, which
//! turns a missing device into a failure (set it on GPU machines).

mod support;

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use coalition_gpu::layout::{G1, G2};
use coalition_gpu::{libraries_present, precompile, CudaDevice, GpuError, Products};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use support::{arkworks_quotient, random_points, random_scalars};

fn device() -> Option<CudaDevice> {
    let required = std::env::var("COALITION_REQUIRE_GPU").as_deref() == Ok("1");
    match libraries_present().and_then(|()| CudaDevice::new(0)) {
        Ok(d) => Some(d),
        Err(e) if required => panic!("COALITION_REQUIRE_GPU=1 but no GPU: {e}"),
        Err(e) => {
            eprintln!("no GPU ({e}); skipping the device comparison");
            None
        }
    }
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

/// Every reduction setting, including values the device must round (3) or
/// clamp (1, and more threads than buckets), gives arkworks' result.
#[test]
fn every_reduction_setting_gives_the_same_msm() {
    let Some(gpu) = device() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let g1: Vec<G1Affine> = random_points::<G1Projective>(1 << 12, &mut rng);
    let scalars: Vec<Fr> = (0..1 << 12).map(|_| Fr::rand(&mut rng)).collect();
    let expected = G1Projective::msm(&g1, &scalars).unwrap();
    for threads in [Some(1u32), Some(2), Some(3), Some(64), Some(1 << 20), None] {
        gpu.set_reduce_threads(threads);
        assert_eq!(
            gpu.msm::<G1>(&g1, &scalars).unwrap(),
            expected,
            "{threads:?} reduction threads"
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

fn refs(vectors: &[Vec<Fr>]) -> Vec<&[Fr]> {
    vectors.iter().map(Vec::as_slice).collect()
}

#[test]
fn gpu_witness_map_equals_arkworks() {
    let Some(gpu) = device() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    // Spend's domain (2^15) as a batch of 5, and small and odd cases.
    for (log_n, count) in [(1usize, 1usize), (4, 3), (15, 5), (17, 1)] {
        let n = 1 << log_n;
        let vectors = |rng: &mut ChaCha20Rng| -> Vec<Vec<Fr>> {
            (0..count).map(|_| random_scalars(n, rng)).collect()
        };
        let (a, b, c) = (vectors(&mut rng), vectors(&mut rng), vectors(&mut rng));
        let got = gpu
            .qap_quotients(log_n, &refs(&a), &refs(&b), &refs(&c))
            .unwrap();
        for i in 0..count {
            assert_eq!(
                got[i],
                arkworks_quotient(&a[i], &b[i], &c[i]),
                "2^{log_n} #{i}"
            );
        }
    }
    // Wrong sizes are errors.
    let short = vec![Fr::zero(); 3];
    assert!(gpu
        .qap_quotients(2, &[&short], &[&short], &[&short])
        .is_err());
    assert!(gpu.qap_quotients(0, &[], &[], &[]).is_err());
}

#[test]
fn both_product_renderings_agree_with_arkworks() {
    let Some(default) = device() else { return };
    assert!(default.name().contains(&default.products().to_string()));
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let g1: Vec<G1Affine> = random_points::<G1Projective>(3000, &mut rng);
    let scalars = random_scalars(3000, &mut rng);
    let expected = G1Projective::msm(&g1, &scalars).unwrap();
    for products in [Products::CarryChains, Products::Portable] {
        let gpu = CudaDevice::with_products(0, products)
            .unwrap_or_else(|e| panic!("{products} did not open: {e}"));
        assert_eq!(gpu.products(), products);
        assert_eq!(
            gpu.msm::<G1>(&g1, &scalars).unwrap(),
            expected,
            "{products}"
        );
    }
}

#[test]
fn missing_device_is_an_error_not_a_panic() {
    // Device 4096 does not exist anywhere; with no library at all this is
    // the NoDriver error. Either way: an error, no panic.
    assert!(CudaDevice::new(4096).is_err());
}

/// Compiling ahead for a GPU elsewhere: where NVRTC is missing (CI), a
/// typed error and nothing written; where it is present, a private module
/// under the cache's name that reads back; an unknown capability is refused.
#[test]
fn precompiling_writes_a_private_module_or_says_why_not() {
    let dir = std::env::temp_dir().join(format!("coalition-precompile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    match precompile(&dir, 9, 0, Products::CarryChains) {
        Err(GpuError::NoNvrtc) => assert!(!dir.exists()),
        Ok(path) => {
            use std::os::unix::fs::PermissionsExt;
            assert!(path.starts_with(&dir));
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "module readable by others: {mode:o}");
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains(".entry msm_accumulate_g1"),
                "not the kernels' PTX"
            );
            assert!(matches!(
                precompile(&dir, 1, 0, Products::CarryChains),
                Err(GpuError::Compile(_))
            ));
        }
        Err(e) => panic!("precompile failed: {e}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
