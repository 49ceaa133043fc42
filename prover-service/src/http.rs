//! The HTTP API (axum).
//!
//! | method | path | |
//! |---|---|---|
//! | POST | `/v1/prove` | body: a [`ProveRequest`]; 200 `{proof, circuit, backend, batch_size, queued_ms, batch_ms}`, 400 malformed, 422 unsatisfied witness, 503 queue full |
//! | GET | `/v1/health` | backend name and queue state |
//! | GET | `/metrics` | Prometheus text: queue depth, proofs, failures, batches, last batch's proofs/s, backend |

use std::sync::atomic::Ordering;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::jobs::ProveRequest;
use crate::queue::{JobError, Queue};

/// The service's routes over `queue`.
pub fn router(queue: Queue) -> Router {
    Router::new()
        .route("/v1/prove", post(prove))
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(queue)
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn prove(
    State(queue): State<Queue>,
    body: Result<Json<ProveRequest>, JsonRejection>,
) -> Response {
    let Json(request) = match body {
        Ok(body) => body,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let circuit = match request.into_circuit() {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let name = circuit.name();
    match queue.prove(circuit).await {
        Ok(out) => Json(json!({
            "circuit": name,
            "proof": hex::encode(&out.proof),
            "backend": queue.backend,
            "batch_size": out.batch_size,
            "queued_ms": out.queued_ms,
            "batch_ms": out.batch_ms,
        }))
        .into_response(),
        Err(JobError::QueueFull) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            JobError::QueueFull.to_string(),
        ),
        Err(e @ JobError::Rejected(_)) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        Err(e @ JobError::Internal(_)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn health(State(queue): State<Queue>) -> Response {
    Json(json!({
        "backend": queue.backend,
        "in_flight": queue.metrics.in_flight.load(Ordering::Relaxed),
    }))
    .into_response()
}

async fn metrics(State(queue): State<Queue>) -> Response {
    let m = &queue.metrics;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let body = format!(
        "# HELP coalition_prover_queue_depth Jobs waiting or being proven.\n\
         # TYPE coalition_prover_queue_depth gauge\n\
         coalition_prover_queue_depth {}\n\
         # HELP coalition_prover_jobs_total Jobs by outcome.\n\
         # TYPE coalition_prover_jobs_total counter\n\
         coalition_prover_jobs_total{{outcome=\"proven\"}} {}\n\
         coalition_prover_jobs_total{{outcome=\"failed\"}} {}\n\
         coalition_prover_jobs_total{{outcome=\"refused_queue_full\"}} {}\n\
         # HELP coalition_prover_batches_total Batches run.\n\
         # TYPE coalition_prover_batches_total counter\n\
         coalition_prover_batches_total {}\n\
         # HELP coalition_prover_last_batch_proofs_per_second Throughput of the last batch.\n\
         # TYPE coalition_prover_last_batch_proofs_per_second gauge\n\
         coalition_prover_last_batch_proofs_per_second {:.3}\n\
         # HELP coalition_prover_backend_info The MSM backend in use.\n\
         # TYPE coalition_prover_backend_info gauge\n\
         coalition_prover_backend_info{{backend=\"{}\"}} 1\n",
        load(&m.in_flight),
        load(&m.proofs),
        load(&m.failed),
        load(&m.refused_full),
        load(&m.batches),
        load(&m.last_batch_milli_proofs_per_s) as f64 / 1000.0,
        queue.backend.replace('"', "'"),
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}
