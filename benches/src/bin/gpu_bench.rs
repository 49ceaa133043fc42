//! `gpu-bench`: arkworks on every host core against the CUDA backend, in
//! one run; every GPU result is checked against the CPU's. In order, so a
//! run cut short still answers the targets: G1 at 2^20 (with the device's
//! settings side by side and a per-stage profile), Spend proofs/s for
//! batches of 64, 1, 16, 256, Spend's witness map (seven NTTs of 2^15) for
//! 1 and 64 statements, then MSM over G1 and G2 at 2^12 … 2^22. Sections
//! after the `BUDGET_S` mark (default 400 s) are skipped.
//!
//! Build here, run on the GPU machine:
//! `cargo build --release -p coalition-benches --features gpu --bin gpu-bench`
//! then `COALITION_PARAMS_DIR=/tmp/params target/release/gpu-bench [max_log2]`.

use std::time::{Duration, Instant};

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use coalition_circuits::note::AssetId;
use coalition_circuits::spend::SpendCircuit;
use coalition_circuits::testing::spend_fixture;
use coalition_gpu::layout::{DeviceCurve, G1, G2};
use coalition_gpu::{CudaDevice, Products};
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::backend::ProvingBackend;
use coalition_prover::groth16::{prove_batch_with_backend, prove_with_backend, synthesize_checked};
use coalition_prover::msm::{CpuBackend, CudaBackend};
use coalition_prover::qap;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

/// `i·G` for `i = 1..=n`: distinct points from one addition each.
fn progression<G: PrimeGroup + CurveGroup>(n: usize) -> Vec<G::Affine> {
    let g = G::generator();
    let mut acc = G::zero();
    let points: Vec<G> = (0..n)
        .map(|_| {
            acc += g;
            acc
        })
        .collect();
    G::normalize_batch(&points)
}

/// Runs `f` once with the device's profiling on and prints its stage
/// times, one line each (each stage synchronises the stream, so a
/// profiled run is a little slower than the timed ones).
fn profiled<T>(label: &str, device: &CudaDevice, f: impl FnOnce() -> T) {
    device.set_profiling(true);
    device.take_profile();
    std::hint::black_box(f());
    println!("profile, {label}:");
    for stage in device.take_profile() {
        println!(
            "  {:<44} {:>9.3} ms  ({} call{})",
            stage.stage,
            ms(stage.total),
            stage.calls,
            if stage.calls == 1 { "" } else { "s" }
        );
    }
    device.set_profiling(false);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn msm_table<C: DeviceCurve>(
    label: &str,
    gpu: &CudaDevice,
    bases: &[C::Affine],
    max_log2: usize,
    rng: &mut ChaCha20Rng,
) -> Vec<(usize, f64, f64)>
where
    C::Projective: VariableBaseMSM<MulBase = C::Affine, ScalarField = Fr>,
{
    let mut rows = Vec::new();
    for log2 in (12..=max_log2).step_by(2) {
        let n = 1usize << log2;
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(rng)).collect();
        let b = &bases[..n];
        let expected = C::Projective::msm(b, &scalars).expect("lengths");
        let got = gpu.msm::<C>(b, &scalars).expect("gpu msm");
        assert_eq!(
            got, expected,
            "{label} 2^{log2}: GPU result differs from the CPU's"
        );
        let runs = if log2 >= 20 { 3 } else { 7 };
        let cpu = time(runs, || C::Projective::msm(b, &scalars).expect("lengths"));
        let dev = time(runs, || gpu.msm::<C>(b, &scalars).expect("gpu msm"));
        println!(
            "{label} 2^{log2:<2}  cpu {:>10.2} ms  gpu {:>9.2} ms  speed-up {:>6.1}x",
            ms(cpu),
            ms(dev),
            cpu.as_secs_f64() / dev.as_secs_f64()
        );
        rows.push((log2, ms(cpu), ms(dev)));
    }
    let crossover = rows.iter().find(|(_, c, g)| g < c).map(|(l, _, _)| *l);
    match crossover {
        Some(l) => println!("{label} crossover: the GPU is faster from 2^{l}"),
        None => println!("{label} crossover: the GPU was not faster at any measured size"),
    }
    rows
}

/// Whether `section` still fits the run's time budget (`BUDGET_S`,
/// seconds from the start; default 400): the device run has a hard limit,
/// so the sections that answer the targets run first and later ones are
/// skipped, with a line saying so, rather than killed half-way.
fn within_budget(started: Instant, budget: Duration, section: &str) -> bool {
    let fits = started.elapsed() < budget;
    if !fits {
        println!(
            "skipped ({section}): {:.0} s of the {:.0} s budget used",
            started.elapsed().as_secs_f64(),
            budget.as_secs_f64()
        );
    }
    fits
}

fn main() {
    // `gpu-bench --precompile MAJOR.MINOR DIR`: fill the PTX cache
    // directory DIR for that compute capability, both product renderings,
    // on a machine with NVRTC and no GPU (scripts/gpu-build.sh).
    if std::env::args().nth(1).as_deref() == Some("--precompile") {
        let capability = std::env::args().nth(2).unwrap_or_else(|| "9.0".into());
        let dir = std::path::PathBuf::from(
            std::env::args()
                .nth(3)
                .expect("--precompile MAJOR.MINOR DIR"),
        );
        let (major, minor) = capability
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .unwrap_or_else(|| panic!("--precompile MAJOR.MINOR, not {capability}"));
        for products in [Products::CarryChains, Products::Portable] {
            let t = Instant::now();
            match coalition_gpu::precompile(&dir, major, minor, products) {
                Ok(path) => println!(
                    "sm_{major}{minor} {products}: {} ({:.1} s)",
                    path.display(),
                    t.elapsed().as_secs_f64()
                ),
                Err(e) => panic!("sm_{major}{minor} {products}: {e}"),
            }
        }
        return;
    }
    let max_log2: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(22);
    let budget = Duration::from_secs(
        std::env::var("BUDGET_S")
            .ok()
            .and_then(|b| b.parse().ok())
            .unwrap_or(400),
    );
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let started = Instant::now();
    let gpu = CudaBackend::new(0).unwrap_or_else(|e| panic!("no GPU: {e}"));
    println!(
        "device: {}; host: {} threads; kernels from PTX cache: {}",
        gpu.name(),
        rayon::current_num_threads(),
        gpu.device().ptx_from_cache()
    );
    let device = gpu.device();
    let g1: Vec<G1Affine> = progression::<G1Projective>(1 << max_log2);
    let g2: Vec<G2Affine> = progression::<G2Projective>(1 << max_log2);
    println!("bases ready in {:.1} s", started.elapsed().as_secs_f64());

    // 1. The MSM target first: G1 at 2^20 (or the largest size run), CPU
    // against GPU, then the settings side by side on this one device,
    // then one profiled run.
    let head_log2 = max_log2.min(20);
    let n = 1usize << head_log2;
    let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
    let expected = G1Projective::msm(&g1[..n], &scalars).expect("lengths");
    assert_eq!(
        device.msm::<G1>(&g1[..n], &scalars).expect("gpu msm"),
        expected,
        "G1 2^{head_log2}: GPU result differs from the CPU's"
    );
    let cpu = time(3, || {
        G1Projective::msm(&g1[..n], &scalars).expect("lengths")
    });
    let dev = time(5, || device.msm::<G1>(&g1[..n], &scalars).expect("gpu msm"));
    println!(
        "headline: G1 2^{head_log2} cpu {:.2} ms, gpu {:.2} ms ({:.1}x; target <= 20 ms on an H100)",
        ms(cpu),
        ms(dev),
        cpu.as_secs_f64() / dev.as_secs_f64()
    );
    // Reduction threads per window: the size rule against fixed settings.
    for threads in [None, Some(256u32), Some(4096)] {
        device.set_reduce_threads(threads);
        assert_eq!(device.msm::<G1>(&g1[..n], &scalars).expect("msm"), expected);
        let t = time(5, || device.msm::<G1>(&g1[..n], &scalars).expect("msm"));
        let label = threads.map_or("the size rule".to_string(), |t| t.to_string());
        println!(
            "G1 2^{head_log2}, reduction threads per window {label}: {:.2} ms",
            ms(t)
        );
    }
    device.set_reduce_threads(None);
    // The two renderings of the Montgomery product (field.cu).
    for products in [Products::CarryChains, Products::Portable] {
        match CudaDevice::with_products(0, products) {
            Ok(other) => {
                assert_eq!(other.msm::<G1>(&g1[..n], &scalars).expect("msm"), expected);
                let t = time(5, || other.msm::<G1>(&g1[..n], &scalars).expect("msm"));
                println!("G1 2^{head_log2} with {products}: {:.2} ms", ms(t));
            }
            Err(e) => println!("G1 with {products}: device did not open ({e})"),
        }
    }
    // Where the device time goes, stage by stage.
    profiled(&format!("G1 MSM 2^{head_log2}"), device, || {
        device.msm::<G1>(&g1[..n], &scalars).expect("gpu msm")
    });

    // 2. Spend proofs: identical bytes from both backends, then proofs/s
    // per batch, CPU against GPU.
    let keys = ShieldedProvingKeys::insecure_dev(&default_params_dir()).expect("dev keys");
    println!(
        "Spend keys ready at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let statements: Vec<_> = (0..16u64)
        .map(|seed| {
            let mut r = ChaCha20Rng::seed_from_u64(seed);
            let f = spend_fixture([7; 32], AssetId(1), (400 + seed, Some(600)), 500, 3, &mut r);
            SpendCircuit::new(f.public, &f.witness)
        })
        .collect();
    let synthesized = synthesize_checked("spend", statements[0].clone()).expect("satisfied");
    let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let cpu_proof = prove_with_backend(&keys.spend, &synthesized, r, s, &CpuBackend).expect("cpu");
    let gpu_proof = prove_with_backend(&keys.spend, &synthesized, r, s, &gpu).expect("gpu");
    assert_eq!(cpu_proof, gpu_proof, "CPU and GPU Spend proofs differ");
    println!("Spend proof: CPU and GPU backends give identical bytes with fixed r, s");
    let mut proof_rows = Vec::new();
    // `BATCHES=64,1,16` picks the batches and their order (default: the
    // target's batch of 64 first, then 1, 16, 256).
    let batches: Vec<usize> = std::env::var("BATCHES")
        .ok()
        .map(|b| b.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![64, 1, 16, 256]);
    let prepare = |batch: usize, rng: &mut ChaCha20Rng| {
        let synthesized: Vec<_> = (0..batch)
            .into_par_iter()
            .map(|i| {
                synthesize_checked("spend", statements[i % statements.len()].clone())
                    .expect("satisfied")
            })
            .collect();
        let randomness: Vec<(Fr, Fr)> =
            (0..batch).map(|_| (Fr::rand(rng), Fr::rand(rng))).collect();
        (synthesized, randomness)
    };
    for batch in batches {
        if !within_budget(started, budget, &format!("Spend batch {batch}")) {
            break;
        }
        // Synthesis and witness checks are the same work on both sides and
        // are timed with them; the batch's MSMs go through
        // `prove_batch_with_backend` (one pass over the key's bases per MSM
        // kind on the GPU).
        let mut rate = |backend: &dyn ProvingBackend| {
            let t = Instant::now();
            let (synthesized, randomness) = prepare(batch, &mut rng);
            prove_batch_with_backend(&keys.spend, &synthesized, &randomness, backend)
                .expect("prove");
            batch as f64 / t.elapsed().as_secs_f64()
        };
        let cpu = rate(&CpuBackend);
        let dev = rate(&gpu);
        println!(
            "Spend batch {batch:>3}: cpu {cpu:>7.2} proofs/s  gpu {dev:>7.2} proofs/s  ({:.2}x; target >= 10x at 64)",
            dev / cpu
        );
        proof_rows.push((batch, cpu, dev));
    }
    if let Some(&(batch, _, _)) = proof_rows.first() {
        let (synthesized, randomness) = prepare(batch, &mut rng);
        profiled(
            &format!("Spend batch {batch} (device calls only)"),
            device,
            || {
                prove_batch_with_backend(&keys.spend, &synthesized, &randomness, &gpu)
                    .expect("prove")
            },
        );
        // The reduction's threads per window for a batch (the rule keeps
        // 128 at 64 Spends: 1,280 windows of 4,096 buckets), proofs only
        // (synthesis done): the next tuning step, measured side by side.
        for threads in [None, Some(32u32), Some(512)] {
            device.set_reduce_threads(threads);
            let t = time(3, || {
                prove_batch_with_backend(&keys.spend, &synthesized, &randomness, &gpu)
                    .expect("prove")
            });
            let label = threads.map_or("the size rule".to_string(), |t| t.to_string());
            println!(
                "Spend batch {batch} proofs only, reduction threads per window {label}: {:.1} ms ({:.1} proofs/s)",
                ms(t),
                batch as f64 / t.as_secs_f64()
            );
        }
        device.set_reduce_threads(None);
    }

    // 3. The witness map alone (Spend: seven NTTs of 2^15 per statement).
    let log_n = qap::domain_log2(synthesized.r1cs()).expect("domain");
    let evaluations = qap::evaluations_from_rows(
        synthesized.r1cs(),
        synthesized.assignment(),
        synthesized.rows(),
        log_n,
    )
    .expect("evaluations");
    let mut witness_map_rows = Vec::new();
    for batch in [1usize, 64] {
        if !within_budget(started, budget, &format!("witness map x{batch}")) {
            break;
        }
        let evals = vec![evaluations.clone(); batch];
        let expected = CpuBackend.qap_quotients(log_n, &evals).expect("cpu");
        assert_eq!(gpu.qap_quotients(log_n, &evals).expect("gpu"), expected);
        let cpu = time(3, || CpuBackend.qap_quotients(log_n, &evals).expect("cpu"));
        let dev = time(3, || gpu.qap_quotients(log_n, &evals).expect("gpu"));
        println!(
            "witness map x{batch:<3} cpu {:>9.2} ms  gpu {:>8.2} ms  speed-up {:>6.1}x",
            ms(cpu),
            ms(dev),
            cpu.as_secs_f64() / dev.as_secs_f64()
        );
        witness_map_rows.push((batch, ms(cpu), ms(dev)));
        if batch == 64 {
            profiled("witness map x64", device, || {
                gpu.qap_quotients(log_n, &evals).expect("gpu")
            });
        }
    }

    // 4. The MSM tables, 2^12 … 2^max, and the crossover.
    let g1_rows = if within_budget(started, budget, "G1 table") {
        msm_table::<G1>("G1", device, &g1, max_log2, &mut rng)
    } else {
        Vec::new()
    };
    let g2_rows = if within_budget(started, budget, "G2 table") {
        msm_table::<G2>("G2", device, &g2, max_log2, &mut rng)
    } else {
        Vec::new()
    };

    println!("\nsummary ({}):", gpu.name());
    for (curve, rows) in [("G1", &g1_rows), ("G2", &g2_rows)] {
        for (l, c, g) in rows.iter() {
            println!(
                "| {curve} | 2^{l} | {c:.2} ms | {g:.2} ms | {:.1}x |",
                c / g
            );
        }
    }
    for (b, c, g) in witness_map_rows {
        println!(
            "| witness map x{b} | {c:.2} ms | {g:.2} ms | {:.1}x |",
            c / g
        );
    }
    for (b, c, g) in proof_rows {
        println!(
            "| Spend batch {b} | {c:.2} proofs/s | {g:.2} proofs/s | {:.2}x |",
            g / c
        );
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
}
