//! What one party reads of the figures with its own key.
//!
//! A partner reads the merchant figures where it is the merchant or the
//! issuer, and the exchange figures where it issues either currency. Both
//! parties to a figure read the same integer (the merchant and the issuer
//! decrypt the same burned sum; the `to` issuer reads `Σy`, the `from`
//! issuer derives it from `Σx`), so each can check the other's claim
//! figure by figure. A currency auditor reads the figures of the
//! currencies it audits through the auditor handles.
//!
//! A sum beyond the reader's decryption table (2^40 points with the
//! standard one) cannot be read; it is listed as unreadable rather than
//! failing the reader's other figures. A debited sum that is not a whole
//! number of exchanges at its rate cannot come from valid exchanges and is
//! an error.

use std::collections::BTreeMap;

use coalition_core::currency::{CurrencyId, ExchangeRate};
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::elgamal::Ciphertext;
use coalition_core::keys::{ElGamalSecretKey, LoyaltyId};

use super::exchange::{credited_from_debited, ExchangeKey};
use super::figures::Figures;
use super::merchant::PairKey;
use super::netting::{burn_value, exchange_value, SettledExchange, SettledPair};

/// Why a party's figures cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementReadError {
    /// A figure names a currency whose issuer or settlement value is unknown.
    #[error("currency {0} has no known issuer or settlement value")]
    UnknownCurrency(String),
    /// `Σx·p/q` is not an integer: the figure is not the sum of exchanges.
    #[error("the debited sum of {from}→{to} is not a whole number of exchanges at its rate")]
    NotExact {
        /// The currency debited.
        from: String,
        /// The currency credited.
        to: String,
    },
}

/// The figures a party read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Readable {
    /// Merchant figures.
    pub pairs: Vec<SettledPair>,
    /// Exchange figures.
    pub exchanges: Vec<SettledExchange>,
    /// Figures the party is party to (or audits) whose sum does not
    /// decrypt under its key within its table: named, not read.
    pub unreadable: Vec<String>,
}

/// Which handle of each sum a reader opens.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A partner: its own handles.
    Party(LoyaltyId),
    /// A currency auditor: handle 2 of the currencies it audits.
    Auditor,
}

struct Reader<'a> {
    secret: &'a ElGamalSecretKey,
    table: &'a DecryptionTable,
    issuers: &'a BTreeMap<CurrencyId, LoyaltyId>,
    values: &'a BTreeMap<CurrencyId, ExchangeRate>,
}

impl Reader<'_> {
    fn known(&self, c: &CurrencyId) -> Result<(LoyaltyId, ExchangeRate), SettlementReadError> {
        match (self.issuers.get(c), self.values.get(c)) {
            (Some(i), Some(v)) => Ok((*i, *v)),
            _ => Err(SettlementReadError::UnknownCurrency(c.symbol().into())),
        }
    }

    fn open(&self, ct: Option<Ciphertext>) -> Option<u64> {
        ct?.decrypt(self.secret, self.table).ok()
    }
}

fn pair_name(key: &PairKey) -> String {
    format!(
        "burned by {}… in {} (epoch {})",
        &hex::encode(key.merchant.0)[..12],
        key.currency,
        key.epoch
    )
}

fn exchange_name(key: &ExchangeKey) -> String {
    format!(
        "exchanges {} → {} at {}/{} (epoch {})",
        key.from,
        key.to,
        key.rate.numerator(),
        key.rate.denominator(),
        key.epoch
    )
}

fn read(
    reader: &Reader<'_>,
    role: Role,
    audits: &dyn Fn(&CurrencyId) -> bool,
    figures: &Figures,
) -> Result<(Readable, bool), SettlementReadError> {
    let mut out = Readable::default();
    let mut complete = true;
    for (key, f) in &figures.pairs {
        let Some(sum) = f.burned else { continue };
        let (issuer, value) = reader.known(&key.currency)?;
        if key.merchant == issuer {
            continue;
        }
        let handle = match role {
            Role::Party(me) if key.merchant == me => Some(sum.merchant),
            Role::Party(me) if issuer == me => sum.issuer,
            Role::Party(_) => continue,
            Role::Auditor if audits(&key.currency) => sum.auditor,
            Role::Auditor => {
                complete = false;
                continue;
            }
        };
        let Some(burned) = reader.open(handle) else {
            out.unreadable.push(pair_name(key));
            continue;
        };
        out.pairs.push(SettledPair {
            merchant: key.merchant,
            issuer,
            currency: key.currency,
            burned,
            value: burn_value(burned, value),
        });
    }
    for (key, f) in &figures.exchanges {
        let (from_issuer, _) = reader.known(&key.from)?;
        let (to_issuer, to_value) = reader.known(&key.to)?;
        if from_issuer == to_issuer {
            continue;
        }
        // The side read: the credited sum (`Σy`) or the debited one (`Σx`).
        let (credited_side, handle) = match role {
            Role::Party(me) if to_issuer == me => (true, f.credited.map(|s| s.issuer)),
            Role::Party(me) if from_issuer == me => (false, f.debited.map(|s| s.issuer)),
            Role::Party(_) => continue,
            Role::Auditor if audits(&key.to) => (true, f.credited.and_then(|s| s.auditor)),
            Role::Auditor if audits(&key.from) => (false, f.debited.and_then(|s| s.auditor)),
            Role::Auditor => {
                complete = false;
                continue;
            }
        };
        let Some(sum) = reader.open(handle) else {
            out.unreadable.push(exchange_name(key));
            continue;
        };
        let credited = if credited_side {
            u128::from(sum)
        } else {
            credited_from_debited(sum, key.rate).ok_or_else(|| SettlementReadError::NotExact {
                from: key.from.symbol().into(),
                to: key.to.symbol().into(),
            })?
        };
        out.exchanges.push(SettledExchange {
            from_issuer,
            to_issuer,
            from: key.from,
            to: key.to,
            rate: key.rate,
            credited,
            value: exchange_value(credited, to_value),
        });
    }
    complete &= out.unreadable.is_empty();
    Ok((out, complete))
}

/// Decrypts the figures `me` is a party to, with `secret` (its key);
/// `issuers` and `values` give each currency's issuer and settlement value
/// (take them from `/v1/currencies`, not from the figures' source). Figures
/// between a partner and itself are left out (they net to zero).
pub fn readable(
    me: LoyaltyId,
    secret: &ElGamalSecretKey,
    table: &DecryptionTable,
    figures: &Figures,
    issuers: &BTreeMap<CurrencyId, LoyaltyId>,
    values: &BTreeMap<CurrencyId, ExchangeRate>,
) -> Result<Readable, SettlementReadError> {
    let reader = Reader {
        secret,
        table,
        issuers,
        values,
    };
    read(&reader, Role::Party(me), &|_| false, figures).map(|(r, _)| r)
}

/// What a currency auditor reads of the figures: every figure whose
/// currencies it audits (`audits`), through the auditor handles. Returns
/// the figures and whether they were all of them, all readable (an auditor
/// of every currency can then compute every partner's position).
pub fn audited(
    secret: &ElGamalSecretKey,
    table: &DecryptionTable,
    figures: &Figures,
    issuers: &BTreeMap<CurrencyId, LoyaltyId>,
    values: &BTreeMap<CurrencyId, ExchangeRate>,
    audits: impl Fn(&CurrencyId) -> bool,
) -> Result<(Readable, bool), SettlementReadError> {
    let reader = Reader {
        secret,
        table,
        issuers,
        values,
    };
    read(&reader, Role::Auditor, &audits, figures)
}
