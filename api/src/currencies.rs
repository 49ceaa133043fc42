//! Registered currencies and exchange rates.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Rate;

/// One registered currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Currency {
    /// Symbol.
    pub symbol: String,
    /// The issuer's loyalty ID (hex).
    pub issuer: String,
    /// The issuer's public identity (hex).
    pub issuer_identity: String,
    /// The auditor's public key (hex), if the currency has one.
    pub auditor: Option<String>,
    /// Display decimals.
    pub decimals: Option<u8>,
    /// What one point is worth in the settlement unit, `[p, q]`.
    pub settlement_value: Option<Rate>,
    /// How many epochs its shielded notes stay spendable (0: unlimited).
    pub note_lifetime_epochs: Option<u32>,
    /// The issuer's next `Issue` sequence number.
    pub issuer_nonce: u64,
}

/// An exchange rate between two currencies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RateEntry {
    /// From this currency.
    pub from: String,
    /// To this currency.
    pub to: String,
    /// `[p, q]`: `p` of `from` buy `q` of `to`.
    pub rate: Rate,
}

/// `GET /v1/currencies`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Currencies {
    /// Registered currencies.
    pub currencies: Vec<Currency>,
    /// Exchange rates in force.
    pub rates: Vec<RateEntry>,
}

/// One partnership's terms in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Partnership {
    /// The partners' loyalty IDs (hex).
    pub partners: Vec<String>,
    /// The terms' version.
    pub version: u64,
    /// The rates the terms set.
    pub rates: Vec<RateEntry>,
    /// How many earn rules the terms carry.
    pub earn_rules: u64,
    /// The signed terms' canonical encoding (hex).
    pub signed_terms: String,
}

/// `GET /v1/partnerships`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Partnerships {
    /// The terms in force.
    pub partnerships: Vec<Partnership>,
}
