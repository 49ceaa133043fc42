//! The bounded job queue and the batching worker.
//!
//! Jobs enter a bounded channel (`try_send`: a full queue is refused at once
//! with backpressure, never buffered without limit). One worker takes the
//! first waiting job, then keeps collecting until the batch is full or
//! `max_wait` has passed, and proves the batch on a blocking thread:
//!
//! 1. jobs whose client has gone (hung up, or its deadline passed) are
//!    dropped unproven;
//! 2. the witnesses are synthesized and checked in parallel: a witness that
//!    does not satisfy its circuit (or panics synthesis) fails alone;
//! 3. the satisfied statements of each circuit are proven together with
//!    `prove_batch_with_backend` (each of the five MSMs runs once for the
//!    whole group: one pass over the proving key's bases on the GPU);
//! 4. every proof is checked with the verifier the nodes use before it is
//!    returned (the group in one batched check, one by one only if that
//!    fails). A proof that does not verify means the backend computed
//!    something wrong: it is told so ([`ProvingBackend::distrust`]; a
//!    device hands over to the CPU for good) and the group is proven once
//!    more. A backend error or panic while proving fails the group (500).
//!
//! Each job's outcome goes back on its own channel. Witnesses are wiped as
//! soon as their job is done (the circuits' assignments and the synthesized
//! statements zeroize on drop), and nothing here logs or returns a value.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::{prepare_verifying_key, PreparedVerifyingKey, ProvingKey};
use coalition_circuits::output::OutputCircuit;
use coalition_circuits::spend::SpendCircuit;
use coalition_core::encoding::Encode;
use coalition_prover::backend::ProvingBackend;
use coalition_prover::groth16::{prove_batch_with_backend, synthesize_checked, R1cs, Synthesized};
use coalition_prover::ProofError;
use coalition_verifier::groth16::{verify_groth16, verify_groth16_batch, Groth16Item};
use rand_core::OsRng;
use rayon::prelude::*;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroize;

use crate::jobs::Circuit;

/// Queue and batch sizes.
#[derive(Clone, Copy, Debug)]
pub struct QueueConfig {
    /// Jobs waiting at most (beyond: refused).
    pub capacity: usize,
    /// Jobs per batch at most.
    pub max_batch: usize,
    /// How long the first job of a batch waits for company.
    pub max_wait: Duration,
    /// How long a job may wait for its proof, queueing included.
    pub job_timeout: Duration,
    /// Job bodies being received at most (each up to 64 KiB for up to
    /// 10 s); beyond, a request is refused before its body is read.
    pub max_arriving: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 256,
            max_batch: 16,
            max_wait: Duration::from_millis(20),
            job_timeout: Duration::from_secs(120),
            max_arriving: 512,
        }
    }
}

/// A proof, or why there is none.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JobError {
    /// The queue is full: retry later.
    #[error("the proving queue is full")]
    QueueFull,
    /// The witness does not satisfy the circuit (the message names the
    /// first failing constraint, never a value).
    #[error("{0}")]
    Rejected(String),
    /// No answer within the job deadline (the job is dropped unproven if
    /// it has not started).
    #[error("no proof within {0} ms")]
    TimedOut(u64),
    /// The service failed on this job (it keeps serving the others).
    #[error("internal error: {0}")]
    Internal(String),
}

/// A finished job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutput {
    /// The 128-byte compressed proof.
    pub proof: Vec<u8>,
    /// How many jobs shared its batch.
    pub batch_size: usize,
    /// Milliseconds from enqueue to the start of its batch.
    pub queued_ms: u64,
    /// Milliseconds its batch took.
    pub batch_ms: u64,
}

struct Job {
    circuit: Circuit,
    enqueued: Instant,
    reply: oneshot::Sender<Result<JobOutput, JobError>>,
}

/// The proving keys a service proves with, and their prepared verifying
/// keys (every proof is checked before it is returned).
#[derive(Clone)]
pub struct Keys {
    output: Arc<ProvingKey<Bn254>>,
    spend: Arc<ProvingKey<Bn254>>,
    output_check: Arc<PreparedVerifyingKey<Bn254>>,
    spend_check: Arc<PreparedVerifyingKey<Bn254>>,
}

impl Keys {
    /// The Output and Spend proving keys.
    pub fn new(output: Arc<ProvingKey<Bn254>>, spend: Arc<ProvingKey<Bn254>>) -> Keys {
        Keys {
            output_check: Arc::new(prepare_verifying_key(&output.vk)),
            spend_check: Arc::new(prepare_verifying_key(&spend.vk)),
            output,
            spend,
        }
    }

    fn of(&self, spend: bool) -> (&ProvingKey<Bn254>, &PreparedVerifyingKey<Bn254>) {
        if spend {
            (&self.spend, &self.spend_check)
        } else {
            (&self.output, &self.output_check)
        }
    }
}

/// Counters exported on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Jobs accepted into the queue.
    pub accepted: AtomicU64,
    /// Jobs refused because the queue was full.
    pub refused_full: AtomicU64,
    /// Proofs made.
    pub proofs: AtomicU64,
    /// Jobs that failed.
    pub failed: AtomicU64,
    /// Jobs dropped unproven because their client had gone.
    pub abandoned: AtomicU64,
    /// Proofs made that did not verify (each one made the backend
    /// distrusted and its group proven again).
    pub bad_proofs: AtomicU64,
    /// Batches run.
    pub batches: AtomicU64,
    /// Jobs waiting or being proven.
    pub in_flight: AtomicU64,
    /// Proofs per second of the last batch, times 1000.
    pub last_batch_milli_proofs_per_s: AtomicU64,
}

/// The submitting side of the queue.
#[derive(Clone)]
pub struct Queue {
    tx: mpsc::Sender<Job>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    backend: Arc<dyn ProvingBackend>,
    job_timeout: Duration,
}

impl Queue {
    /// Starts the worker on the current tokio runtime.
    pub fn start(config: QueueConfig, keys: Keys, backend: Arc<dyn ProvingBackend>) -> Queue {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let metrics = Arc::new(Metrics::default());
        let queue = Queue {
            tx,
            metrics: metrics.clone(),
            backend: backend.clone(),
            job_timeout: config.job_timeout,
        };
        tokio::spawn(worker(rx, config, keys, backend, metrics));
        queue
    }

    /// The backend in use now (a device that failed names the CPU).
    pub fn backend_name(&self) -> String {
        self.backend.name()
    }

    /// Queues `circuit` and waits for its proof, at most the job timeout.
    pub async fn prove(&self, circuit: Circuit) -> Result<JobOutput, JobError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            circuit,
            enqueued: Instant::now(),
            reply,
        };
        // Counted before it is sent, so the worker never takes off what
        // was not added.
        self.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
                self.metrics.refused_full.fetch_add(1, Ordering::Relaxed);
                return Err(JobError::QueueFull);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
                return Err(JobError::Internal("the proving worker has stopped".into()));
            }
        }
        self.metrics.accepted.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.job_timeout, answer).await {
            Ok(answer) => answer
                .unwrap_or_else(|_| Err(JobError::Internal("the worker dropped the job".into()))),
            // Dropping `answer` closes the job's channel: the worker skips
            // it if it has not started.
            Err(_) => Err(JobError::TimedOut(self.job_timeout.as_millis() as u64)),
        }
    }
}

async fn worker(
    mut rx: mpsc::Receiver<Job>,
    config: QueueConfig,
    keys: Keys,
    backend: Arc<dyn ProvingBackend>,
    metrics: Arc<Metrics>,
) {
    // Build both circuits' shared R1CS before the first job, so the first
    // batch does not pay for it (and a circuit that cannot be built shows
    // up in the log at start, not as a failed job).
    let warm = tokio::task::spawn_blocking(|| {
        R1cs::for_circuit::<OutputCircuit>().and(R1cs::for_circuit::<SpendCircuit>())
    })
    .await;
    if !matches!(warm, Ok(Ok(_))) {
        tracing::error!("could not prepare the circuits' R1CS; jobs will report why");
    }
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + config.max_wait;
        let mut batch = vec![first];
        while batch.len() < config.max_batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => batch.push(job),
                _ => break,
            }
        }
        let (keys, backend, metrics) = (keys.clone(), backend.clone(), metrics.clone());
        // The blocking pool runs the batch; a panic there is caught per job.
        let _ =
            tokio::task::spawn_blocking(move || run_batch(batch, &keys, &*backend, &metrics)).await;
    }
}

fn run_batch(batch: Vec<Job>, keys: &Keys, backend: &dyn ProvingBackend, metrics: &Metrics) {
    let started = Instant::now();
    // A job whose client has gone is not proven (its witness is wiped as
    // it is dropped here).
    let (batch, gone): (Vec<Job>, Vec<Job>) = batch.into_iter().partition(|j| !j.reply.is_closed());
    if !gone.is_empty() {
        metrics
            .abandoned
            .fetch_add(gone.len() as u64, Ordering::Relaxed);
        metrics
            .in_flight
            .fetch_sub(gone.len() as u64, Ordering::Relaxed);
        drop(gone);
    }
    let size = batch.len();
    if size == 0 {
        return;
    }
    // The circuits move into synthesis (no copy of a witness is made).
    let mut replies = Vec::with_capacity(size);
    let mut circuits = Vec::with_capacity(size);
    for job in batch {
        replies.push((job.enqueued, job.reply));
        circuits.push(job.circuit);
    }
    let is_spend: Vec<bool> = circuits
        .iter()
        .map(|c| matches!(c, Circuit::Spend(_)))
        .collect();
    let synthesized: Vec<_> = circuits
        .into_par_iter()
        .map(|circuit| {
            let name = circuit.name();
            catch_unwind(AssertUnwindSafe(move || match circuit {
                Circuit::Output(c) => synthesize_checked(name, c),
                Circuit::Spend(c) => synthesize_checked(name, c),
            }))
        })
        .collect();
    // Satisfied statements, grouped by circuit, proven one batch per key.
    let mut outcomes: Vec<Option<Result<Vec<u8>, JobError>>> = vec![None; size];
    let mut groups: [(Vec<usize>, Vec<Synthesized>); 2] = Default::default();
    for (i, synthesized) in synthesized.into_iter().enumerate() {
        match synthesized {
            Err(_) => outcomes[i] = Some(Err(JobError::Internal("synthesis panicked".into()))),
            // Only a false statement is the client's; anything else (the
            // circuit's R1CS, a shape that does not match) is the service's.
            Ok(Err(e @ ProofError::Unsatisfied { .. })) => {
                outcomes[i] = Some(Err(JobError::Rejected(e.to_string())))
            }
            Ok(Err(e)) => outcomes[i] = Some(Err(JobError::Internal(e.to_string()))),
            Ok(Ok(s)) => {
                let g = usize::from(is_spend[i]);
                groups[g].0.push(i);
                groups[g].1.push(s);
            }
        }
    }
    for (g, (indices, statements)) in groups.iter().enumerate() {
        if indices.is_empty() {
            continue;
        }
        let (key, check) = keys.of(g == 1);
        // Whatever panics in a group (the prover, the check) fails that
        // group, and the batch still answers and counts every job.
        let proven = catch_unwind(AssertUnwindSafe(|| {
            prove_group(key, check, statements, backend, metrics)
        }))
        .unwrap_or_else(|_| {
            vec![Err(JobError::Internal("proving panicked".into())); statements.len()]
        });
        for (&i, outcome) in indices.iter().zip(proven) {
            outcomes[i] = Some(outcome);
        }
    }
    drop(groups);
    let outcomes: Vec<Result<Vec<u8>, JobError>> = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(JobError::Internal("job was not processed".into()))))
        .collect();
    let proven = outcomes.iter().filter(|o| o.is_ok()).count() as u64;
    let elapsed = started.elapsed();
    metrics.batches.fetch_add(1, Ordering::Relaxed);
    metrics.proofs.fetch_add(proven, Ordering::Relaxed);
    metrics
        .failed
        .fetch_add(size as u64 - proven, Ordering::Relaxed);
    metrics.in_flight.fetch_sub(size as u64, Ordering::Relaxed);
    metrics.last_batch_milli_proofs_per_s.store(
        (proven as f64 / elapsed.as_secs_f64().max(1e-9) * 1000.0) as u64,
        Ordering::Relaxed,
    );
    for ((enqueued, reply), outcome) in replies.into_iter().zip(outcomes) {
        let queued_ms = started.duration_since(enqueued).as_millis() as u64;
        let _ = reply.send(outcome.map(|proof| JobOutput {
            proof,
            batch_size: size,
            queued_ms,
            batch_ms: elapsed.as_millis() as u64,
        }));
    }
}

/// Proves one circuit's satisfied statements together and checks every
/// proof with the verifier the nodes use; one outcome per statement. A
/// proof that does not verify makes the backend distrusted; if it stepped
/// aside then, or had already while this group was proven (a device error
/// in one MSM after wrong values in another), the group is proven once
/// more.
fn prove_group(
    key: &ProvingKey<Bn254>,
    check: &PreparedVerifyingKey<Bn254>,
    statements: &[Synthesized],
    backend: &dyn ProvingBackend,
    metrics: &Metrics,
) -> Vec<Result<Vec<u8>, JobError>> {
    let all = |error: JobError| vec![Err(error); statements.len()];
    let mut retried = false;
    loop {
        let backend_before = backend.name();
        // Fresh zero-knowledge randomness per proof, from the OS, wiped
        // once the proofs are made.
        let mut randomness: Vec<(Fr, Fr)> = statements
            .iter()
            .map(|_| (Fr::rand(&mut OsRng), Fr::rand(&mut OsRng)))
            .collect();
        let result = catch_unwind(AssertUnwindSafe(|| {
            prove_batch_with_backend(key, statements, &randomness, backend)
        }));
        for (r, s) in randomness.iter_mut() {
            r.zeroize();
            s.zeroize();
        }
        let proofs = match result {
            Ok(Ok(proofs)) => proofs,
            // The statements were checked satisfied: a prover error here
            // is the service's (a key that does not match, a device).
            Ok(Err(e)) => return all(JobError::Internal(e.to_string())),
            Err(_) => return all(JobError::Internal("proving panicked".into())),
        };
        // One batched check for the group (a random linear combination, one
        // final exponentiation: 0.20 ms a Spend against 1.45 ms alone);
        // only if it fails is each proof checked alone, to find the bad.
        let items: Vec<Groth16Item<'_>> = proofs
            .iter()
            .zip(statements)
            .map(|(proof, statement)| Groth16Item {
                key: check,
                inputs: &statement.assignment()[1..statement.num_inputs()],
                proof,
            })
            .collect();
        let verified: Vec<bool> = if verify_groth16_batch(&items, &mut OsRng).is_ok() {
            vec![true; items.len()]
        } else {
            items
                .par_iter()
                .map(|item| verify_groth16(item).is_ok())
                .collect()
        };
        drop(items);
        let bad = verified.iter().filter(|ok| !**ok).count();
        if bad == 0 {
            return proofs.into_iter().map(|p| Ok(p.to_bytes())).collect();
        }
        metrics.bad_proofs.fetch_add(bad as u64, Ordering::Relaxed);
        let why = format!("{bad} of {} proofs did not verify", statements.len());
        let stepped_aside = backend.name() != backend_before;
        if !retried && (backend.distrust(&why) || stepped_aside) {
            retried = true;
            continue;
        }
        return proofs
            .into_iter()
            .zip(verified)
            .map(|(proof, ok)| {
                if ok {
                    Ok(proof.to_bytes())
                } else {
                    Err(JobError::Internal("the proof made did not verify".into()))
                }
            })
            .collect();
    }
}
