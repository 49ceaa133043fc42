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
    pub value: u128,
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
    pub credited: u128,
    /// Their value in the settlement unit, `⌈Σy·p_to/q_to⌉`.
    pub value: u128,
}

/// What burned points are worth: `⌊points·p/q⌋` for a currency of
/// settlement value `p/q` (the issuer pays; it rounds in its favour by
/// less than one unit per figure).
pub fn burn_value(points: u64, value: ExchangeRate) -> u128 {
    u128::from(points) * u128::from(value.numerator()) / u128::from(value.denominator())
}

/// What points created by exchange are worth to their new issuer:
/// `⌈points·p/q⌉`. Rounded up, so the issuer that sheds the liability never
/// pays less than the points will cost the one that takes it on: an issuer
/// that exchanged its own points into a partner's a little at a time and
/// burned them back in bulk would otherwise gain the rounding (spec §16.5).
pub fn exchange_value(points: u128, value: ExchangeRate) -> u128 {
    points
        .saturating_mul(u128::from(value.numerator()))
        .div_ceil(u128::from(value.denominator()))
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
    let mut owe = |creditor: LoyaltyId, debtor: LoyaltyId, value: u128| {
        if creditor != debtor {
            // Figures are decrypted sums below 2^40 points, times a value
            // below 2^32: far inside i128.
            let value = i128::try_from(value).unwrap_or(i128::MAX);
            let c = net.entry(creditor).or_insert(0);
            *c = c.saturating_add(value);
            let d = net.entry(debtor).or_insert(0);
            *d = d.saturating_sub(value);
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
    fn burns_round_down_exchanges_round_up_and_nothing_overflows() {
        let half = ExchangeRate::new(1, 2).unwrap();
        assert_eq!(burn_value(61, half), 30);
        assert_eq!(exchange_value(61, half), 31);
        assert_eq!(exchange_value(60, half), 30);
        let huge = ExchangeRate::new(u32::MAX, 1).unwrap();
        assert_eq!(
            burn_value(u64::MAX, huge),
            u128::from(u64::MAX) * u128::from(u32::MAX)
        );
        assert_eq!(exchange_value(u128::MAX, huge), u128::MAX);
    }

    #[test]
    fn an_issuer_gains_nothing_by_exchanging_in_small_steps() {
        // Ten epochs of 1 point at 1/2 each, burned back in bulk: the
        // exchanges owe ten × ⌈1/2⌉ = 10, the burn is worth ⌊10/2⌋ = 5.
        let half = ExchangeRate::new(1, 2).unwrap();
        let owed: u128 = (0..10).map(|_| exchange_value(1, half)).sum();
        assert!(owed >= burn_value(10, half));
    }
}
