//! Rates and thresholds on the wire.

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};

/// An exchange rate or threshold, `[numerator, denominator]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate(pub [u32; 2]);

// By hand: utoipa 5 derives no schema for a fixed-size array.
impl utoipa::PartialSchema for Rate {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                    .minimum(Some(0)),
            )
            .min_items(Some(2))
            .max_items(Some(2))
            .description(Some("`[numerator, denominator]`"))
            .into()
    }
}

impl utoipa::ToSchema for Rate {}
