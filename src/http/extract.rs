//! Request extractors whose rejection is a [`Problem`]: axum's `Json`, `Query`, `Path` and
//! `Form`, with the same names, so a malformed request is answered as problem+json naming what
//! is wrong (400 for syntax, 415 for a wrong content type, 422 for a body of the wrong shape)
//! instead of axum's plain text. Handlers take these and never see a rejection themselves.

use axum::extract::{FromRequest, FromRequestParts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::http::problem::Problem;

/// A JSON body; as a response, `application/json`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The query string, deserialized.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Query<T>(pub T);

/// Path parameters, deserialized.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Path<T>(pub T);

/// An `application/x-www-form-urlencoded` body.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(Problem))]
pub struct Form<T>(pub T);
