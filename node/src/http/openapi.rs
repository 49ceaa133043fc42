//! The OpenAPI 3.1 document at `/openapi.json`, generated from the routes
//! as they are registered (each with its `#[utoipa::path]` description and
//! the `coalition-api` types it takes and answers), never written by hand.

use std::sync::LazyLock;

use utoipa::openapi::{InfoBuilder, OpenApi};

/// The document: every public route and every node-to-node route.
pub fn document() -> OpenApi {
    let (_, mut doc) = super::api::routes().split_for_parts();
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
pub(crate) fn document_json() -> &'static str {
    // Serialising a document of strings and maps cannot fail; the test
    // `openapi.rs` reads this one back.
    static JSON: LazyLock<String> =
        LazyLock::new(|| document().to_pretty_json().unwrap_or_default());
    &JSON
}
