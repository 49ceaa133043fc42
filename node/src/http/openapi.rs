//! The OpenAPI 3.1 document at `/openapi.json`, generated from the routes
//! as they are registered (each with its `#[utoipa::path]` description and
//! the `coalition-api` types it takes and answers), never written by hand.
//!
//! The document's own route lives here, on top of [`super::api`]'s routes,
//! so the handlers never reach back up for the document that lists them.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::App;

/// Every public route: the API's and this document's.
pub(crate) fn routes() -> OpenApiRouter<App> {
    super::api::routes().routes(routes!(openapi))
}

/// The document: every public route and every node-to-node route.
pub fn document() -> OpenApi {
    let (_, mut doc) = routes().split_for_parts();
    doc.merge(crate::replication::rpc::openapi());
    doc.info = InfoBuilder::new()
        .title("Coalition node API")
        .version("1")
        .description(Some(
            "Partner verifier node: submit transactions, read ledger state, follow \
             events (papers/protocol.md §17.4, §17.5); the `/raft/*` routes are \
             node-to-node (§20.3) and served only on replicating nodes. Binary values \
             are lowercase hex of canonical encodings. Binds to 127.0.0.1 by default.",
        ))
        .build();
    doc
}

/// [`document`] as JSON, built once.
fn document_json() -> &'static str {
    // Serialising a document of strings and maps cannot fail; the test
    // `openapi.rs` reads this one back.
    static JSON: LazyLock<String> =
        LazyLock::new(|| document().to_pretty_json().unwrap_or_default());
    &JSON
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "node",
    responses((status = 200, description = "The OpenAPI 3.1 document of every route", content_type = "application/json")))]
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}
