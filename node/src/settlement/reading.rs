//! What one partner reads of the figures with its own key: the merchant
//! figures where it is the merchant or the issuer, and the exchange
//! figures where it issues either currency. Both parties to a figure read
//! the same integer (the merchant and the issuer decrypt the same burned
//! sum; the `to` issuer reads `Σy`, the `from` issuer derives it from
//! `Σx`), so each can check the other's claim figure by figure.

use std::collections::BTreeMap;

use coalition_core::currency::{CurrencyId, ExchangeRate};
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::elgamal::Ciphertext;
use coalition_core::keys::{ElGamalSecretKey, LoyaltyId};

use super::exchange::credited_from_debited;
use super::figures::Figures;
use super::netting::{settlement_value, SettledExchange, SettledPair};

/// Why a partner cannot read its figures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementReadError {
    /// A figure names a currency whose issuer or settlement value is unknown.
    #[error("currency {0} has no known issuer or settlement value")]
    UnknownCurrency(String),
    /// A sum this partner should read does not decrypt under its key.
    #[error("a {0} sum does not decrypt under this partner's key")]
    Unreadable(&'static str),
    /// `Σx·p/q` is not an integer: the figure is not the sum of exchanges.
    #[error("the debited sum of {from}→{to} is not a whole number of exchanges at its rate")]
    NotExact {
        /// The currency debited.
        from: String,
        /// The currency credited.
        to: String,
    },
    /// A value does not fit 64 bits.
    #[error("a settlement value overflows")]
    Overflow,
}

/// The merchant and exchange figures `me` can read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Readable {
    /// Merchant figures where `me` is the merchant or the issuer.
    pub pairs: Vec<SettledPair>,
    /// Exchange figures where `me` issues either side.
    pub exchanges: Vec<SettledExchange>,
}

fn open(
    ct: Option<Ciphertext>,
    what: &'static str,
    secret: &ElGamalSecretKey,
    table: &DecryptionTable,
) -> Result<u64, SettlementReadError> {
    ct.ok_or(SettlementReadError::Unreadable(what))?
        .decrypt(secret, table)
        .map_err(|_| SettlementReadError::Unreadable(what))
}

/// Decrypts the figures `me` is a party to, with `secret` (its key);
/// `issuers` and `values` give each currency's issuer and settlement value.
/// Figures between a partner and itself are left out (they net to zero).
pub fn readable(
    me: LoyaltyId,
    secret: &ElGamalSecretKey,
    table: &DecryptionTable,
    figures: &Figures,
    issuers: &BTreeMap<CurrencyId, LoyaltyId>,
    values: &BTreeMap<CurrencyId, ExchangeRate>,
) -> Result<Readable, SettlementReadError> {
    let known = |c: &CurrencyId| -> Result<(LoyaltyId, ExchangeRate), SettlementReadError> {
        match (issuers.get(c), values.get(c)) {
            (Some(i), Some(v)) => Ok((*i, *v)),
            _ => Err(SettlementReadError::UnknownCurrency(c.symbol().into())),
        }
    };
    let mut out = Readable::default();
    for (key, f) in &figures.pairs {
        let (issuer, value) = known(&key.currency)?;
        if key.merchant == issuer || (key.merchant != me && issuer != me) {
            continue;
        }
        let Some(sum) = f.burned else { continue };
        let burned = if key.merchant == me {
            open(Some(sum.merchant), "burned", secret, table)?
        } else {
            open(sum.issuer, "burned", secret, table)?
        };
        out.pairs.push(SettledPair {
            merchant: key.merchant,
            issuer,
            currency: key.currency,
            burned,
            value: settlement_value(burned, value).ok_or(SettlementReadError::Overflow)?,
        });
    }
    for (key, f) in &figures.exchanges {
        let (from_issuer, _) = known(&key.from)?;
        let (to_issuer, to_value) = known(&key.to)?;
        if from_issuer == to_issuer || (from_issuer != me && to_issuer != me) {
            continue;
        }
        let credited = if to_issuer == me {
            open(f.credited.map(|s| s.issuer), "credited", secret, table)?
        } else {
            let debited = open(f.debited.map(|s| s.issuer), "debited", secret, table)?;
            credited_from_debited(debited, key.rate).ok_or_else(|| {
                SettlementReadError::NotExact {
                    from: key.from.symbol().into(),
                    to: key.to.symbol().into(),
                }
            })?
        };
        out.exchanges.push(SettledExchange {
            from_issuer,
            to_issuer,
            from: key.from,
            to: key.to,
            rate: key.rate,
            credited,
            value: settlement_value(credited, to_value).ok_or(SettlementReadError::Overflow)?,
        });
    }
    Ok(out)
}

/// What a currency auditor reads of the figures: every figure whose
/// currencies it audits (`audits`), through the auditor handles. Returns
/// the figures and whether they were all of them (an auditor of every
/// currency can compute every partner's position).
pub fn audited(
    secret: &ElGamalSecretKey,
    table: &DecryptionTable,
    figures: &Figures,
    issuers: &BTreeMap<CurrencyId, LoyaltyId>,
    values: &BTreeMap<CurrencyId, ExchangeRate>,
    audits: impl Fn(&CurrencyId) -> bool,
) -> Result<(Readable, bool), SettlementReadError> {
    let known = |c: &CurrencyId| -> Result<(LoyaltyId, ExchangeRate), SettlementReadError> {
        match (issuers.get(c), values.get(c)) {
            (Some(i), Some(v)) => Ok((*i, *v)),
            _ => Err(SettlementReadError::UnknownCurrency(c.symbol().into())),
        }
    };
    let mut out = Readable::default();
    let mut complete = true;
    for (key, f) in &figures.pairs {
        let Some(sum) = f.burned else { continue };
        let (issuer, value) = known(&key.currency)?;
        if key.merchant == issuer {
            continue;
        }
        if !audits(&key.currency) {
            complete = false;
            continue;
        }
        let burned = open(sum.auditor, "burned", secret, table)?;
        out.pairs.push(SettledPair {
            merchant: key.merchant,
            issuer,
            currency: key.currency,
            burned,
            value: settlement_value(burned, value).ok_or(SettlementReadError::Overflow)?,
        });
    }
    for (key, f) in &figures.exchanges {
        let (from_issuer, _) = known(&key.from)?;
        let (to_issuer, to_value) = known(&key.to)?;
        if from_issuer == to_issuer {
            continue;
        }
        let credited = if audits(&key.to) {
            open(
                f.credited.and_then(|s| s.auditor),
                "credited",
                secret,
                table,
            )?
        } else if audits(&key.from) {
            let debited = open(f.debited.and_then(|s| s.auditor), "debited", secret, table)?;
            credited_from_debited(debited, key.rate).ok_or_else(|| {
                SettlementReadError::NotExact {
                    from: key.from.symbol().into(),
                    to: key.to.symbol().into(),
                }
            })?
        } else {
            complete = false;
            continue;
        };
        out.exchanges.push(SettledExchange {
            from_issuer,
            to_issuer,
            from: key.from,
            to: key.to,
            rate: key.rate,
            credited,
            value: settlement_value(credited, to_value).ok_or(SettlementReadError::Overflow)?,
        });
    }
    Ok((out, complete))
}
