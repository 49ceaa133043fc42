//! Netting: each partner's position in the settlement unit, from the
//! figures it can read (spec §16.5).

use std::collections::BTreeMap;

use coalition_core::currency::{CurrencyId, ExchangeRate};
use coalition_core::keys::LoyaltyId;

/// One decrypted merchant figure, as a party computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledPair {
    /// The merchant.
    pub merchant: LoyaltyId,
    /// The issuer.
    pub issuer: LoyaltyId,
    /// The currency.
    pub currency: CurrencyId,
    /// Points burned (returned to the issuer).
    pub burned: u64,
    /// Their value in the settlement unit, `⌊burned·p/q⌋`.
    pub value: u64,
}

/// One decrypted exchange figure: `from_issuer` owes `to_issuer` the value
/// of the points of `to` that customers' exchanges created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledExchange {
    /// The issuer of the currency debited (it pays).
    pub from_issuer: LoyaltyId,
    /// The issuer of the currency credited (it is paid).
    pub to_issuer: LoyaltyId,
    /// The currency debited.
    pub from: CurrencyId,
    /// The currency credited.
    pub to: CurrencyId,
    /// The rate of the group.
    pub rate: ExchangeRate,
    /// `Σy`: points of `to` created.
    pub credited: u64,
    /// Their value in the settlement unit, `⌊Σy·p_to/q_to⌋`.
    pub value: u64,
}

/// `⌊points·p/q⌋` for a currency of settlement value `p/q`; `None` when it
/// does not fit a `u64`.
pub fn settlement_value(points: u64, value: ExchangeRate) -> Option<u64> {
    u64::try_from(
        u128::from(points) * u128::from(value.numerator()) / u128::from(value.denominator()),
    )
    .ok()
}

/// Net positions in the settlement unit: positive means the coalition owes
/// the partner. Each figure is rounded once and counted once on each side,
/// so the positions sum to zero over all partners when every figure is
/// counted. A figure between a partner and itself is skipped.
pub fn net_positions(
    pairs: &[SettledPair],
    exchanges: &[SettledExchange],
) -> BTreeMap<LoyaltyId, i128> {
    let mut net: BTreeMap<LoyaltyId, i128> = BTreeMap::new();
    let mut owe = |creditor: LoyaltyId, debtor: LoyaltyId, value: u64| {
        if creditor != debtor {
            *net.entry(creditor).or_insert(0) += i128::from(value);
            *net.entry(debtor).or_insert(0) -= i128::from(value);
        }
    };
    for p in pairs {
        owe(p.merchant, p.issuer, p.value);
    }
    for e in exchanges {
        owe(e.to_issuer, e.from_issuer, e.value);
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_and_the_burn_it_enables_net_to_zero() {
        // The example: A mints its own points, exchanges them into
        // B's currency and burns them at B. Without the exchange figure B
        // would owe A for points it never sold.
        let (a, b) = (LoyaltyId([1; 32]), LoyaltyId([2; 32]));
        let hpts = CurrencyId::new("HPTS").unwrap();
        let miles = CurrencyId::new("MILES").unwrap();
        let burn = SettledPair {
            merchant: a,
            issuer: b,
            currency: hpts,
            burned: 60,
            value: 30,
        };
        let exchange = SettledExchange {
            from_issuer: a,
            to_issuer: b,
            from: miles,
            to: hpts,
            rate: ExchangeRate::new(3, 2).unwrap(),
            credited: 60,
            value: 30,
        };
        assert_eq!(net_positions(&[burn], &[])[&a], 30);
        let net = net_positions(&[burn], &[exchange]);
        assert_eq!((net[&a], net[&b]), (0, 0));
        let alone = net_positions(&[], &[exchange]);
        assert_eq!((alone[&a], alone[&b]), (-30, 30));
        assert_eq!(alone.values().sum::<i128>(), 0);
    }

    #[test]
    fn values_round_down_and_never_overflow() {
        let half = ExchangeRate::new(1, 2).unwrap();
        assert_eq!(settlement_value(61, half), Some(30));
        let huge = ExchangeRate::new(u32::MAX, 1).unwrap();
        assert_eq!(settlement_value(u64::MAX, huge), None);
    }
}
