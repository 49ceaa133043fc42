//! Path and query extractors whose refusals are the API's JSON
//! `{"error": "malformed", "reason": …}` (issue 21): axum's own `Path` and
//! `Query` answer `400 text/plain`, which no client of the documented API
//! expects. Also the answers for an unknown route or method.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Router;
use serde::de::DeserializeOwned;

use crate::submission::ApiError;

/// A path parameter; a bad one is refused as `400 malformed`.
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// A query string; a bad one is refused as `400 malformed`.
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// `router` with JSON refusals for an unknown route (`404 not_found`) and
/// a method a route does not take (`405 method_not_allowed`). Call it on
/// the router that is served, after every merge.
pub fn with_json_refusals<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
}
