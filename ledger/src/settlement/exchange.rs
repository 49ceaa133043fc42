//! Exchange figures: per (epoch, currency `A` issued by `I_A`, currency
//! `B` issued by `I_B`, rate `p/q`), the sums of what customers converted.
//!
//! An `Exchange` destroys `x` points of `A` and creates `y` points of `B`
//! with `q·y = p·x` (proven on the hidden amounts, §6.3). `I_A`'s
//! liability falls by `x` points and `I_B`'s rises by `y`: `I_B` will owe
//! the merchant that eventually burns them `value_B(y)`. So settlement
//! records that `I_A` owes `I_B` `value_B(Σy)` for the group (spec
//! §16.5). Terms guarantee `p/q·value(B) ≤ value(A)` (§16.4), so `I_A`
//! never pays more for a conversion than a redemption of the same points
//! would have cost it.
//!
//! Readers: `I_A` sums its handle of `x` (the `from` amount's handle 1) and
//! derives `Σy = Σx·p/q` (exact: each `x·p` is a multiple of `q`); `I_B`
//! reads `Σy` from its handle of `y` (the `to` amount's handle 1); each
//! currency's auditor reads its side from handle 2. The rate is part of
//! the key so both issuers' figures stay exact when terms change the rate
//! inside an epoch.

use coalition_core::currency::{CurrencyId, ExchangeRate};
use coalition_core::elgamal::{Ciphertext, GroupedCiphertext};
use coalition_core::encoding::{Decode, Encode, Reader};
use coalition_core::DecodeError;

use super::sums::{add, put_opt, read_opt};

/// Identifies one exchange figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExchangeKey {
    /// The epoch.
    pub epoch: u64,
    /// The currency debited.
    pub from: CurrencyId,
    /// The currency credited.
    pub to: CurrencyId,
    /// The rate the exchanges used.
    pub rate: ExchangeRate,
}

impl ExchangeKey {
    /// `epoch (u64 BE) ‖ from (8) ‖ to (8) ‖ p (u32 BE) ‖ q (u32 BE)`.
    pub fn to_key(&self) -> Vec<u8> {
        let mut k = self.epoch.to_be_bytes().to_vec();
        k.extend_from_slice(self.from.as_bytes());
        k.extend_from_slice(self.to.as_bytes());
        k.extend_from_slice(&self.rate.numerator().to_be_bytes());
        k.extend_from_slice(&self.rate.denominator().to_be_bytes());
        k
    }

    /// Inverse of [`ExchangeKey::to_key`].
    pub fn from_key(key: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(key);
        let epoch = u64::from_be_bytes(r.array("epoch")?);
        let from = CurrencyId::decode(&mut r)?;
        let to = CurrencyId::decode(&mut r)?;
        let p = u32::from_be_bytes(r.array("rate numerator")?);
        let q = u32::from_be_bytes(r.array("rate denominator")?);
        r.finish()?;
        Ok(ExchangeKey {
            epoch,
            from,
            to,
            rate: ExchangeRate::new(p, q)?,
        })
    }
}

/// One side's sum: under its issuer's key and its auditor's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuerSum {
    /// Under the currency's issuer's key (handle 1).
    pub issuer: Ciphertext,
    /// Under the currency's auditor's key (handle 2), if it has one.
    pub auditor: Option<Ciphertext>,
}

impl IssuerSum {
    fn add_amount(slot: &mut Option<IssuerSum>, amount: &GroupedCiphertext) {
        let Some(issuer) = amount.ciphertext(1) else {
            return;
        };
        match slot {
            None => {
                *slot = Some(IssuerSum {
                    issuer,
                    auditor: amount.ciphertext(2),
                })
            }
            Some(s) => {
                s.issuer = s.issuer + issuer;
                add(&mut s.auditor, amount.ciphertext(2));
            }
        }
    }

    fn merge(slot: &mut Option<IssuerSum>, other: &Option<IssuerSum>) {
        let Some(other) = other else { return };
        match slot {
            None => *slot = Some(*other),
            Some(s) => {
                s.issuer = s.issuer + other.issuer;
                add(&mut s.auditor, other.auditor);
            }
        }
    }
}

/// The sums for one exchange group and epoch.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ExchangeFigures {
    /// Number of exchanges.
    pub exchanges: u64,
    /// `Σx`, the points of `from` destroyed.
    pub debited: Option<IssuerSum>,
    /// `Σy`, the points of `to` created.
    pub credited: Option<IssuerSum>,
}

impl ExchangeFigures {
    /// Adds one exchange's amounts.
    pub fn add(&mut self, amount_from: &GroupedCiphertext, amount_to: &GroupedCiphertext) {
        self.exchanges = self.exchanges.saturating_add(1);
        IssuerSum::add_amount(&mut self.debited, amount_from);
        IssuerSum::add_amount(&mut self.credited, amount_to);
    }

    /// Adds `other` (the same group, a later block).
    pub fn merge(&mut self, other: &ExchangeFigures) {
        self.exchanges = self.exchanges.saturating_add(other.exchanges);
        IssuerSum::merge(&mut self.debited, &other.debited);
        IssuerSum::merge(&mut self.credited, &other.credited);
    }
}

/// `Σy` from `Σx` at rate `p/q`: exact, or `None` when `q ∤ p·Σx` (a
/// figure that cannot come from valid exchanges).
pub fn credited_from_debited(debited: u64, rate: ExchangeRate) -> Option<u128> {
    let scaled = u128::from(debited) * u128::from(rate.numerator());
    let q = u128::from(rate.denominator());
    (scaled % q == 0).then_some(scaled / q)
}

fn put_sum(out: &mut Vec<u8>, s: &Option<IssuerSum>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            s.issuer.encode(out);
            put_opt(out, &s.auditor);
        }
    }
}

fn read_sum(r: &mut Reader<'_>) -> Result<Option<IssuerSum>, DecodeError> {
    Ok(match r.flag("sum present")? {
        false => None,
        true => Some(IssuerSum {
            issuer: Ciphertext::decode(r)?,
            auditor: read_opt(r)?,
        }),
    })
}

impl Encode for ExchangeFigures {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.exchanges.to_le_bytes());
        put_sum(out, &self.debited);
        put_sum(out, &self.credited);
    }
}

impl Decode for ExchangeFigures {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ExchangeFigures {
            exchanges: r.u64("exchanges")?,
            debited: read_sum(r)?,
            credited: read_sum(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_refuse_a_zero_rate() {
        let key = ExchangeKey {
            epoch: 3,
            from: CurrencyId::new("MILES").unwrap(),
            to: CurrencyId::new("HPTS").unwrap(),
            rate: ExchangeRate::new(3, 2).unwrap(),
        };
        assert_eq!(ExchangeKey::from_key(&key.to_key()).unwrap(), key);
        let mut zero = key.to_key();
        let len = zero.len();
        zero[len - 4..].copy_from_slice(&0u32.to_be_bytes());
        assert!(ExchangeKey::from_key(&zero).is_err());
        assert!(ExchangeKey::from_key(&key.to_key()[..len - 1]).is_err());
    }

    #[test]
    fn the_credited_sum_is_derived_exactly_or_not_at_all() {
        let rate = ExchangeRate::new(3, 2).unwrap();
        assert_eq!(credited_from_debited(40, rate), Some(60));
        assert_eq!(credited_from_debited(41, rate), None);
        let big = ExchangeRate::new(u32::MAX, 1).unwrap();
        assert_eq!(
            credited_from_debited(u64::MAX, big),
            Some(u128::from(u64::MAX) * u128::from(u32::MAX))
        );
    }
}
