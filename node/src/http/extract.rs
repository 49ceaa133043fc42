//! Path and query extractors whose refusals are the API's JSON
//! `{"error": "malformed", "reason": …}` (issue 21): axum's own `Path` and
//! `Query` answer `400 text/plain`, which no client of the documented API
//! expects. Also the answers for an unknown route or method, and for an
//! over-long URI or request head.

use axum::extract::{FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
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

/// The longest URI a request may have: `414 uri_too_long` beyond it.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The most a request's header fields may take (names, values and their
/// separators): `431 headers_too_large` beyond it.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Refuses an over-long URI or over-large head as the API's JSON. Both
/// bounds sit well below the connection's read buffer
/// ([`super::connections::MAX_READ_BUFFER`], 64 KiB): hyper itself refuses
/// a head that does not fit that buffer with an empty-bodied `431` before
/// any handler runs, so only a head over 64 KiB still gets that answer.
async fn bound_the_head(request: Request, next: Next) -> Response {
    if request.uri().to_string().len() > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the URI exceeds {MAX_URI_BYTES} bytes"),
        )
        .into_response();
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the header fields exceed {MAX_HEADER_BYTES} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

/// `router` with JSON refusals for an unknown route (`404 not_found`), a
/// method a route does not take (`405 method_not_allowed`), an over-long
/// URI (`414 uri_too_long`) and over-large header fields (`431
/// headers_too_large`). Call it on the router that is served, after every
/// merge.
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
        // After the fallbacks, so an unknown route's head is bounded too.
        .layer(axum::middleware::from_fn(bound_the_head))
}
