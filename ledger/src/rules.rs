//! Partnership terms and the earn-rule engine (spec §15.4).
//!
//! Partners agree on [`PartnershipTerms`]: exchange rates between their
//! currencies and earn rules (points per currency unit spent, per SKU or
//! category, with bonus multipliers valid in a time window). Terms are
//! versioned and take effect only when **every** partner they name has
//! signed them; a newer signed version for the same set of partners replaces
//! the older. The [`RuleEngine`] turns a purchase at a partner into the
//! points each currency owes under the terms in force at the purchase time;
//! the partner tools (`coalition partner purchase`) turn those into `Issue`
//! transactions signed by the issuer, so this crate needs no prover.
//!
//! Arithmetic is exact: points = ⌊amount · p / q⌋ · multiplier, summed over
//! the items in checked u128, refused (`TermsError::Overflow`) if a product
//! or the sum leaves u128, or the total leaves `u64` or an Issue's 32-bit
//! range.

use std::collections::BTreeMap;

use coalition_core::currency::{CurrencyId, ExchangeRate};
use coalition_core::keys::{LoyaltyId, PublicIdentity};
use coalition_core::transaction::ChainId;

pub use coalition_core::partnership::{
    Bonus, EarnRule, Matcher, PartnershipTerms, SignedTerms, TermsError, MAX_ITEMS, MAX_NAME,
};

/// One purchased item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineItem {
    /// SKU.
    pub sku: String,
    /// Category.
    pub category: String,
    /// Amount spent, in currency units.
    pub amount: u64,
}

/// A purchase at a partner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase {
    /// Where.
    pub partner: LoyaltyId,
    /// Who earns.
    pub customer: PublicIdentity,
    /// What.
    pub items: Vec<LineItem>,
    /// When (milliseconds since the Unix epoch).
    pub time_ms: u64,
}

/// The terms in force, one version per partner set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleEngine {
    chain: Option<ChainId>,
    in_force: BTreeMap<Vec<LoyaltyId>, SignedTerms>,
}

impl RuleEngine {
    /// An engine for `chain` with no terms.
    pub fn new(chain: ChainId) -> Self {
        RuleEngine {
            chain: Some(chain),
            in_force: BTreeMap::new(),
        }
    }

    /// The engine over exactly the terms in force on `ledger` (what a
    /// partner runs: the ledger's governance decides which terms apply).
    pub fn from_ledger(ledger: &crate::ledger::AccountLedger) -> Self {
        use coalition_verifier::transactions::LedgerView;
        RuleEngine {
            chain: Some(ledger.chain()),
            in_force: ledger.governance().terms().clone(),
        }
    }

    /// Puts `signed` in force if every partner signed it and it is newer
    /// than the version in force for the same partners.
    pub fn adopt(&mut self, signed: SignedTerms) -> Result<(), TermsError> {
        if Some(signed.terms.chain) != self.chain {
            return Err(TermsError::WrongChain);
        }
        signed.verify()?;
        let key = signed.terms.partner_set();
        if let Some(current) = self.in_force.get(&key) {
            if signed.terms.version <= current.terms.version {
                return Err(TermsError::StaleVersion {
                    current: current.terms.version,
                    got: signed.terms.version,
                });
            }
        }
        self.in_force.insert(key, signed);
        Ok(())
    }

    /// The agreed rate `from → to`, from the newest terms that set one.
    pub fn rate(&self, from: &CurrencyId, to: &CurrencyId) -> Option<ExchangeRate> {
        self.in_force
            .values()
            .flat_map(|s| s.terms.rates.iter())
            .find(|(f, t, _)| f == from && t == to)
            .map(|(_, _, r)| *r)
    }

    /// Points owed per currency for `purchase`: for each item and currency,
    /// the most specific matching rule at the purchase's partner (SKU, then
    /// category, then any), `⌊amount·p/q⌋`, times the bonus multiplier when
    /// the purchase falls in its window.
    pub fn points(&self, purchase: &Purchase) -> Result<BTreeMap<CurrencyId, u64>, TermsError> {
        let rules: Vec<&EarnRule> = self
            .in_force
            .values()
            .flat_map(|s| s.terms.earn_rules.iter())
            .filter(|r| r.partner == purchase.partner)
            .collect();
        let mut owed: BTreeMap<CurrencyId, u128> = BTreeMap::new();
        for item in &purchase.items {
            let mut best: BTreeMap<CurrencyId, &EarnRule> = BTreeMap::new();
            for rule in rules
                .iter()
                .filter(|r| r.matcher.matches(&item.sku, &item.category))
            {
                let slot = best.entry(rule.currency).or_insert(rule);
                if rule.matcher.specificity() > slot.matcher.specificity() {
                    *slot = rule;
                }
            }
            for (currency, rule) in best {
                let r = rule.points_per_unit;
                // amount · p < 2^96 cannot overflow, but the bonus factor
                // and the sum over items can: every step is checked, and
                // an overflow is refused, never wrapped (release) or a
                // panic (debug).
                let mut points = u128::from(item.amount) * u128::from(r.numerator())
                    / u128::from(r.denominator());
                if let Some(b) = rule.bonus {
                    if (b.from_ms..b.until_ms).contains(&purchase.time_ms) {
                        points = points
                            .checked_mul(u128::from(b.multiplier))
                            .ok_or(TermsError::Overflow)?;
                    }
                }
                let total = owed.entry(currency).or_insert(0);
                *total = total.checked_add(points).ok_or(TermsError::Overflow)?;
            }
        }
        owed.into_iter()
            .filter(|(_, p)| *p > 0)
            .map(|(c, p)| {
                u64::try_from(p)
                    .map(|p| (c, p))
                    .map_err(|_| TermsError::Overflow)
            })
            .collect()
    }

    /// The points the issuer of `currency` owes for `purchase` under the
    /// terms in force (`None` if the purchase earns nothing in it). The
    /// partner tools turn them into an `Issue` signed by the issuer.
    pub fn owed(
        &self,
        purchase: &Purchase,
        currency: &CurrencyId,
    ) -> Result<Option<u64>, TermsError> {
        if self.chain.is_none() {
            return Err(TermsError::WrongChain);
        }
        Ok(self.points(purchase)?.get(currency).copied())
    }
}
