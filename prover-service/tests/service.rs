//! The proving service over real TCP: concurrent jobs batched and proven
//! with verifying proofs, bad witnesses refused without harming the service
//! or the good jobs batched with them, malformed and oversized jobs refused
//! without repeating their values, backpressure when the queue is full, a
//! job deadline, metrics; a failing backend (an error, a panic, wrong
//! values) hands over to the CPU behind `Failover` and fails the job (500,
//! never 422) without it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ark_bn254::Bn254;
use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::PrimeGroup;
use ark_groth16::Groth16;
use coalition_circuits::keys::SpendingKey;
use coalition_circuits::note::{AssetId, Epoch};
use coalition_circuits::output::{OutputCircuit, OutputPublicInputs};
use coalition_circuits::testing::{self, spend_fixture};
use coalition_core::encoding::decode_exact;
use coalition_core::shielded::Groth16Proof;
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::backend::{BackendError, ProvingBackend};
use coalition_prover::failover::Failover;
use coalition_prover::groth16::R1cs;
use coalition_prover::msm::CpuBackend;
use coalition_prover_service::{serve, Keys, ProveRequest, QueueConfig};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn keys() -> &'static ShieldedProvingKeys {
    static KEYS: OnceLock<ShieldedProvingKeys> = OnceLock::new();
    KEYS.get_or_init(|| ShieldedProvingKeys::insecure_dev(&default_params_dir()).unwrap())
}

async fn start(config: QueueConfig) -> std::net::SocketAddr {
    start_with(config, Arc::new(CpuBackend)).await
}

async fn start_with(config: QueueConfig, backend: Arc<dyn ProvingBackend>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let k = keys();
    let service_keys = Keys::new(Arc::new(k.output.clone()), Arc::new(k.spend.clone()));
    tokio::spawn(serve(listener, config, service_keys, backend));
    addr
}

/// How [`Faulty`] misbehaves on its batched G1 MSMs.
#[derive(Clone, Copy)]
enum Fault {
    Panics,
    DeviceError,
    WrongValues,
    Slow(Duration),
}

/// A backend that computes like the CPU but misbehaves on every batched
/// G1 MSM (every proof makes some), counting them.
struct Faulty {
    fault: Fault,
    calls: Arc<AtomicUsize>,
}

impl ProvingBackend for Faulty {
    fn name(&self) -> String {
        "faulty".into()
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        CpuBackend.msm_g1(bases, scalars)
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        CpuBackend.msm_g2(bases, scalars)
    }

    fn msm_g1_batch(
        &self,
        bases: &[G1Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G1Projective>, BackendError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.fault {
            Fault::Panics => panic!("device lost"),
            Fault::DeviceError => Err(BackendError::Device("kernel launch failed".into())),
            Fault::WrongValues => Ok(CpuBackend
                .msm_g1_batch(bases, sets)?
                .into_iter()
                .map(|p| p + G1Projective::generator())
                .collect()),
            Fault::Slow(pause) => {
                std::thread::sleep(pause);
                CpuBackend.msm_g1_batch(bases, sets)
            }
        }
    }
}

fn faulty(fault: Fault) -> (Faulty, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    (
        Faulty {
            fault,
            calls: calls.clone(),
        },
        calls,
    )
}

/// Posts `job` to `/v1/prove`: returns (status, body).
async fn post_job(addr: std::net::SocketAddr, job: &ProveRequest) -> (u16, String) {
    http(
        addr,
        "POST",
        "/v1/prove",
        &serde_json::to_string(job).unwrap(),
    )
    .await
}

/// A minimal HTTP/1.1 client: returns (status, body).
async fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn output_job(seed: u64) -> (ProveRequest, Vec<ark_bn254::Fr>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let note = testing::note(
        AssetId(1),
        10 + seed,
        SpendingKey::from_seed(&[2; 32]).address(),
        &mut rng,
    );
    let circuit = OutputCircuit::for_note(&note);
    let public = OutputPublicInputs::for_note(&note);
    (
        ProveRequest::output(&public, circuit.assignment.as_ref().unwrap()),
        public.to_field_elements(),
    )
}

fn proof_of(body: &str) -> Groth16Proof {
    let v: Value = serde_json::from_str(body).unwrap();
    decode_exact(&hex::decode(v["proof"].as_str().unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_jobs_are_batched_and_their_proofs_verify() {
    let addr = start(QueueConfig {
        capacity: 16,
        max_batch: 8,
        max_wait: Duration::from_millis(300),
        ..QueueConfig::default()
    })
    .await;
    let mut tasks = Vec::new();
    for seed in 0..4 {
        let (job, inputs) = output_job(seed);
        let body = serde_json::to_string(&job).unwrap();
        tasks.push(tokio::spawn(async move {
            (http(addr, "POST", "/v1/prove", &body).await, inputs, false)
        }));
    }
    let f = spend_fixture(
        [3; 32],
        AssetId(1),
        (50, Some(70)),
        100,
        2,
        &mut ChaCha20Rng::seed_from_u64(9),
    );
    let body = serde_json::to_string(&ProveRequest::spend(&f.public, &f.witness)).unwrap();
    let spend_inputs = f.public.to_field_elements();
    tasks.push(tokio::spawn(async move {
        (
            http(addr, "POST", "/v1/prove", &body).await,
            spend_inputs,
            true,
        )
    }));

    let output_vk = ark_groth16::prepare_verifying_key(&keys().output.vk);
    let spend_vk = ark_groth16::prepare_verifying_key(&keys().spend.vk);
    let mut largest_batch = 0;
    for task in tasks {
        let ((status, body), inputs, is_spend) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        let proof = proof_of(&body);
        let vk = if is_spend { &spend_vk } else { &output_vk };
        assert!(Groth16::<Bn254>::verify_proof(vk, &proof.0, &inputs).unwrap());
        let v: Value = serde_json::from_str(&body).unwrap();
        largest_batch = largest_batch.max(v["batch_size"].as_u64().unwrap());
    }
    assert!(
        largest_batch > 1,
        "jobs submitted together were never batched"
    );

    let (status, metrics) = http(addr, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("coalition_prover_jobs_total{outcome=\"proven\"} 5"),
        "{metrics}"
    );
    assert!(metrics.contains("coalition_prover_backend_info{backend=\"cpu"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_statements_and_malformed_jobs_are_refused_and_the_service_survives() {
    let addr = start(QueueConfig::default()).await;
    // A witness that does not satisfy Spend: change worth one more.
    let f = spend_fixture(
        [4; 32],
        AssetId(1),
        (50, None),
        20,
        0,
        &mut ChaCha20Rng::seed_from_u64(1),
    );
    let mut job = serde_json::to_value(ProveRequest::spend(&f.public, &f.witness)).unwrap();
    job["change_value"] = Value::from(job["change_value"].as_u64().unwrap() + 1);
    let (status, body) = http(addr, "POST", "/v1/prove", &job.to_string()).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("does not satisfy"), "{body}");

    // Malformed: a field element ≥ p, a short path, bad JSON, unknown circuit.
    let mut big = serde_json::to_value(output_job(1).0).unwrap();
    big["owner"] = Value::from("ff".repeat(32));
    let mut short = serde_json::to_value(ProveRequest::spend(&f.public, &f.witness)).unwrap();
    short["inputs"][0]["siblings"].as_array_mut().unwrap().pop();
    for bad in [
        big.to_string(),
        short.to_string(),
        "{not json".into(),
        r#"{"circuit":"mint"}"#.into(),
    ] {
        let (status, body) = http(addr, "POST", "/v1/prove", &bad).await;
        assert_eq!(status, 400, "{bad} -> {body}");
    }
    // Still serving.
    assert_proven(addr, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_answers_503() {
    let addr = start(QueueConfig {
        capacity: 1,
        max_batch: 1,
        max_wait: Duration::ZERO,
        ..QueueConfig::default()
    })
    .await;
    let f = spend_fixture(
        [5; 32],
        AssetId(1),
        (50, Some(1)),
        20,
        0,
        &mut ChaCha20Rng::seed_from_u64(2),
    );
    let body = serde_json::to_string(&ProveRequest::spend(&f.public, &f.witness)).unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move { http(addr, "POST", "/v1/prove", &body).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.contains(&503), "{statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
}

/// Posts the Output job of `seed` and checks its proof verifies; returns
/// the answer.
async fn assert_proven(addr: std::net::SocketAddr, seed: u64) -> Value {
    let (job, inputs) = output_job(seed);
    let (status, body) = post_job(addr, &job).await;
    assert_eq!(status, 200, "{body}");
    let vk = ark_groth16::prepare_verifying_key(&keys().output.vk);
    assert!(Groth16::<Bn254>::verify_proof(&vk, &proof_of(&body).0, &inputs).unwrap());
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_false_statement_fails_alone_in_its_batch() {
    let addr = start(QueueConfig {
        max_batch: 4,
        max_wait: Duration::from_millis(500),
        ..QueueConfig::default()
    })
    .await;
    let (good, good_inputs) = output_job(7);
    let mut bad = serde_json::to_value(output_job(8).0).unwrap();
    bad["public"]["value"] = Value::from(bad["public"]["value"].as_u64().unwrap() + 1);
    let good = serde_json::to_string(&good).unwrap();
    let bad = bad.to_string();
    let (good, bad) = tokio::join!(
        http(addr, "POST", "/v1/prove", &good),
        http(addr, "POST", "/v1/prove", &bad)
    );
    assert_eq!(bad.0, 422, "{}", bad.1);
    assert_eq!(good.0, 200, "{}", good.1);
    let answer: Value = serde_json::from_str(&good.1).unwrap();
    assert_eq!(answer["batch_size"], 2, "the two jobs shared a batch");
    let vk = ark_groth16::prepare_verifying_key(&keys().output.vk);
    assert!(Groth16::<Bn254>::verify_proof(&vk, &proof_of(&good.1).0, &good_inputs).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_never_repeat_a_jobs_values_and_oversized_jobs_get_413() {
    let addr = start(QueueConfig::default()).await;
    // A secret where a number belongs, and a secret that is not hex.
    let mut wrong_type = serde_json::to_value(output_job(3).0).unwrap();
    wrong_type["public"]["value"] = Value::from("SECRET-1234");
    let mut not_hex = serde_json::to_value(output_job(3).0).unwrap();
    not_hex["rcm"] = Value::from("SECRET-5678");
    for bad in [wrong_type.to_string(), not_hex.to_string()] {
        let (status, body) = http(addr, "POST", "/v1/prove", &bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            !body.contains("SECRET"),
            "the refusal repeats a value: {body}"
        );
    }
    let huge = format!(
        r#"{{"circuit":"output","pad":"{}"}}"#,
        "0".repeat(70 * 1024)
    );
    let (status, body) = http(addr, "POST", "/v1/prove", &huge).await;
    assert_eq!(status, 413, "{body}");
    assert_proven(addr, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_device_hands_over_to_the_cpu_and_its_proofs_still_verify() {
    for fault in [Fault::Panics, Fault::DeviceError, Fault::WrongValues] {
        let (device, calls) = faulty(fault);
        let addr = start_with(
            QueueConfig::default(),
            Arc::new(Failover::new(Box::new(device))),
        )
        .await;
        let (_, health) = http(addr, "GET", "/v1/health", "").await;
        assert!(health.contains("\"faulty\""), "{health}");
        // The failing batch is finished on the CPU: its proof verifies.
        let answer = assert_proven(addr, 5).await;
        assert_eq!(
            answer["backend"],
            "cpu (after faulty failed)".replace("cpu", &CpuBackend.name())
        );
        let used = calls.load(Ordering::SeqCst);
        assert!(used >= 1);
        // From then on the device is not asked again.
        assert_proven(addr, 6).await;
        assert_eq!(calls.load(Ordering::SeqCst), used);
        let (_, metrics) = http(addr, "GET", "/metrics", "").await;
        let bad_proofs = usize::from(matches!(fault, Fault::WrongValues));
        assert!(
            metrics.contains(&format!("coalition_prover_bad_proofs_total {bad_proofs}\n")),
            "{metrics}"
        );
        assert!(metrics.contains("after faulty failed"), "{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_fallback_a_failing_backend_fails_its_jobs_with_500_not_422() {
    for (fault, reason) in [
        (Fault::Panics, "proving panicked"),
        (Fault::DeviceError, "kernel launch failed"),
        (Fault::WrongValues, "did not verify"),
    ] {
        let (device, _) = faulty(fault);
        let addr = start_with(QueueConfig::default(), Arc::new(device)).await;
        let (status, body) = post_job(addr, &output_job(9).0).await;
        assert_eq!(status, 500, "{body}");
        // What failed inside stays in the operator's log.
        assert!(!body.contains(reason), "{body}");
        assert!(body.contains("not the job's fault"), "{body}");
        let (status, health) = http(addr, "GET", "/v1/health", "").await;
        assert_eq!(
            (status, health.contains("\"in_flight\":0")),
            (200, true),
            "{health}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_past_its_deadline_gets_504_and_is_not_proven_if_not_started() {
    // The circuits' R1CS built before the service starts (the worker
    // builds them before its first job), so the first job starts at once.
    R1cs::for_circuit::<OutputCircuit>().unwrap();
    R1cs::for_circuit::<coalition_circuits::spend::SpendCircuit>().unwrap();
    // Four batched G1 MSMs per proof: a batch takes over 1.6 s.
    let (device, _) = faulty(Fault::Slow(Duration::from_millis(400)));
    let addr = start_with(
        QueueConfig {
            max_batch: 1,
            max_wait: Duration::ZERO,
            job_timeout: Duration::from_millis(500),
            ..QueueConfig::default()
        },
        Arc::new(device),
    )
    .await;
    let first = serde_json::to_string(&output_job(10).0).unwrap();
    let second = serde_json::to_string(&output_job(11).0).unwrap();
    let (first, second) = tokio::join!(http(addr, "POST", "/v1/prove", &first), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        http(addr, "POST", "/v1/prove", &second).await
    });
    assert_eq!(first.0, 504, "{}", first.1);
    assert_eq!(second.0, 504, "{}", second.1);
    // The first batch finishes; the second job's client has gone, so it
    // is dropped without being proven.
    let metrics = metrics_once(addr, |m| m.contains("coalition_prover_queue_depth 0\n")).await;
    assert!(
        metrics.contains("coalition_prover_jobs_total{outcome=\"proven\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("coalition_prover_jobs_total{outcome=\"abandoned\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("coalition_prover_queue_depth 0\n"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_arriving_at_once_are_bounded() {
    let addr = start(QueueConfig {
        max_arriving: 1,
        ..QueueConfig::default()
    })
    .await;
    // A client that announces a job and sends none of it holds the one
    // place for bodies being received.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /v1/prove HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
    )
    .await
    .unwrap();
    let (job, _) = output_job(12);
    let job = serde_json::to_string(&job).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = http(addr, "POST", "/v1/prove", &job).await;
        if status == 503 {
            assert!(body.contains("arriving"), "{body}");
            break;
        }
        // Only until the slow client's request holds its place.
        assert_eq!(status, 200, "{body}");
        assert!(tokio::time::Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Once it hangs up, jobs are taken again.
    drop(slow);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = http(addr, "POST", "/v1/prove", &job).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never given back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `/metrics` once `ready` holds (polled for up to 60 s).
async fn metrics_once(addr: std::net::SocketAddr, ready: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, metrics) = http(addr, "GET", "/metrics", "").await;
        if ready(&metrics) || tokio::time::Instant::now() >= deadline {
            return metrics;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Delegated proving without spend authority (spec §14.3): a wallet sends a
/// Spend job built from its full viewing key, gets the proof back and signs
/// with `ask` — the Redeem verifies. Everything the job held cannot sign
/// instead: `α` alone, `α` plus any key the service can derive from the
/// job (`nk`, `ak`'s encoding, the note randomness), or a fresh `α'` of the
/// service's choosing all give a Redeem the verifier refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_proves_what_it_cannot_authorize() {
    use coalition_circuits::merkle::NoteTree;
    use coalition_circuits::note::TreeRoot;
    use coalition_circuits::spend::SpendInput;
    use coalition_circuits::spend_auth::{Randomizer, SigningKey};
    use coalition_core::currency::CurrencyId;
    use coalition_core::keys::IdentityKeys;
    use coalition_core::shielded::asset_id;
    use coalition_core::transaction::{ChainId, Transaction};
    use coalition_prover::shielded::build_redeem;
    use coalition_verifier::groth16::Groth16Item;
    use coalition_verifier::{verify_item, ProofItem, SpendAuthItem, VerificationError};

    let addr = start(QueueConfig::default()).await;
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let sk = SpendingKey::from_seed(&[8; 32]);
    let fvk = sk.full_viewing_key();
    let currency = CurrencyId::new("MILES").unwrap();
    let mut tree = NoteTree::new();
    let note = testing::note(asset_id(&currency), 500, fvk.address(), &mut rng);
    let position = tree.append(note.commitment().0).unwrap();
    let input = SpendInput {
        note,
        path: tree.path(position).unwrap(),
    };
    let merchant = IdentityKeys::random(&mut rng);
    let unproven = build_redeem(
        ChainId([7; 32]),
        currency,
        Epoch(0),
        &fvk,
        &[input],
        TreeRoot(tree.root()),
        merchant.public(),
        200,
        &mut rng,
    )
    .unwrap();
    let job = ProveRequest::spend(&unproven.public_inputs(), unproven.witness());
    // The job names no ask: only ak, nk and alpha among the keys.
    let json = serde_json::to_value(&job).unwrap();
    assert!(json.get("ask").is_none());
    for field in ["ak", "nk", "alpha"] {
        assert!(json[field].is_string(), "{field}");
    }
    let (status, body) = post_job(addr, &job).await;
    assert_eq!(status, 200, "{body}");
    let redeemed = unproven
        .with_proof(proof_of(&body))
        .authorize(&sk.spend_authorizing_key(), &mut rng)
        .unwrap();
    let Transaction::Redeem(honest) = redeemed.tx else {
        panic!("a redeem")
    };
    let verifying = keys().verifying_keys();
    let inputs = honest.public_inputs().to_field_elements();
    let check = |tx: &coalition_core::shielded::RedeemTx| {
        verify_item(&ProofItem::Redeem(
            Groth16Item {
                key: &verifying.spend,
                inputs: &inputs,
                proof: &tx.proof,
            },
            SpendAuthItem {
                key: &tx.rk,
                message: tx.authorization_message(),
                signature: &tx.spend_auth,
            },
        ))
    };
    assert_eq!(check(&honest), Ok(()));

    // What the service holds, turned into signing keys.
    let hex32 = |field: &str| -> [u8; 32] {
        let mut out = [0u8; 32];
        hex::decode_to_slice(json[field].as_str().unwrap(), &mut out).unwrap();
        out
    };
    let alpha = Randomizer::from_bytes(&hex32("alpha")).unwrap();
    let wide = |bytes: [u8; 32]| {
        let mut w = [0u8; 64];
        w[..32].copy_from_slice(&bytes);
        SigningKey::from_wide_bytes(&w)
    };
    let zero = SigningKey::from_wide_bytes(&[0; 64]);
    let mut candidates = vec![
        ("alpha alone", zero.randomize(&alpha)),
        ("nk + alpha", wide(hex32("nk")).randomize(&alpha)),
        ("ak bytes + alpha", wide(hex32("ak")).randomize(&alpha)),
    ];
    let rcm = json["inputs"][0]["rcm"].as_str().unwrap().to_string();
    let mut rcm_bytes = [0u8; 32];
    hex::decode_to_slice(rcm, &mut rcm_bytes).unwrap();
    candidates.push(("note rcm + alpha", wide(rcm_bytes).randomize(&alpha)));
    let own_alpha = Randomizer::random(&mut rng);
    candidates.push(("a fresh alpha of its own", zero.randomize(&own_alpha)));
    for (what, key) in &candidates {
        let mut forged = honest.clone();
        forged.spend_auth = key.sign(&forged.authorization_message(), &mut rng);
        assert_eq!(
            check(&forged),
            Err(VerificationError::SpendAuthorization),
            "{what}"
        );
    }
}
