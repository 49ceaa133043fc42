//! Supply reconciliation with a currency auditor's key (spec §18).

use std::collections::BTreeMap;

use coalition_core::currency::CurrencyId;
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::elgamal::{Ciphertext, GroupedCiphertext};
use coalition_core::keys::{ElGamalPublicKey, ElGamalSecretKey, LoyaltyId};
use coalition_core::transaction::Transaction;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use serde::Serialize;

use crate::ledger::AccountLedger;

/// One currency's supply, as its auditor reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SupplyReport {
    /// The currency.
    pub currency: String,
    /// Points issued.
    pub issued: u64,
    /// Points burned back to the issuer.
    pub burned: u64,
    /// Points exchanged into other currencies.
    pub exchanged_out: u64,
    /// Points received from other currencies by exchange.
    pub exchanged_in: u64,
    /// Points moved into the shielded pool (public).
    pub shielded: u64,
    /// Points paid out of the pool to merchants (public).
    pub redeemed: u64,
    /// Σ of every account's balance (available + pending), as read.
    pub in_accounts: u64,
    /// `shielded − redeemed`.
    pub in_pool: u64,
    /// Accounts whose committed balance matched the auditor's reading.
    pub accounts_checked: u64,
    /// Whether everything above reconciles.
    pub reconciled: bool,
    /// The first discrepancy, if any.
    pub problem: Option<String>,
}

/// A currency auditor's key and a table to read amounts with.
pub struct AuditorKey<'a> {
    /// The secret key whose public part is a currency's auditor key.
    pub secret: &'a ElGamalSecretKey,
    /// Discrete-log table.
    pub table: &'a DecryptionTable,
}

/// One account's running sums in the auditor's view.
#[derive(Clone, Copy)]
struct AuditedAccount {
    commitment: RistrettoPoint,
    handle: RistrettoPoint,
    value: i128,
}

impl Default for AuditedAccount {
    fn default() -> Self {
        AuditedAccount {
            commitment: RistrettoPoint::identity(),
            handle: RistrettoPoint::identity(),
            value: 0,
        }
    }
}

struct Flows {
    report: SupplyReport,
    accounts: BTreeMap<LoyaltyId, AuditedAccount>,
}

pub(super) struct SupplyTracker<'a> {
    key: AuditorKey<'a>,
    /// The key's public part: the currencies naming it as auditor are tracked.
    public: ElGamalPublicKey,
    currencies: BTreeMap<CurrencyId, Flows>,
}

impl<'a> SupplyTracker<'a> {
    pub(super) fn new(key: AuditorKey<'a>) -> Self {
        SupplyTracker {
            public: key.secret.public_key(),
            key,
            currencies: BTreeMap::new(),
        }
    }

    /// The auditor's key.
    pub(super) fn key(&self) -> &AuditorKey<'a> {
        &self.key
    }

    /// Starts tracking the currencies `ledger` registers with this auditor
    /// (registrations are never undone, so tracking only grows).
    pub(super) fn follow(&mut self, ledger: &AccountLedger) {
        for (id, policy) in ledger.currencies() {
            if policy.auditor.as_ref() == Some(&self.public) {
                self.currencies.entry(*id).or_insert_with(|| Flows {
                    report: SupplyReport {
                        currency: id.symbol().to_string(),
                        ..SupplyReport::default()
                    },
                    accounts: BTreeMap::new(),
                });
            }
        }
    }

    /// Reads the auditor's handle of `amount`; `None` if it cannot be read
    /// (no auditor handle, or beyond the table's bound).
    fn read(&self, amount: &GroupedCiphertext) -> Result<(Ciphertext, u64), String> {
        let ct = amount
            .ciphertext(2)
            .ok_or("an audited amount has no auditor handle")?;
        let value = ct
            .decrypt(self.key.secret, self.key.table)
            .map_err(|e| format!("an amount does not decrypt with the auditor key: {e}"))?;
        Ok((ct, value))
    }

    fn flow(
        &mut self,
        currency: CurrencyId,
        account: LoyaltyId,
        ct: &Ciphertext,
        value: u64,
        sign: i8,
    ) {
        let Some(flows) = self.currencies.get_mut(&currency) else {
            return;
        };
        let entry = flows.accounts.entry(account).or_default();
        if sign > 0 {
            entry.commitment += ct.commitment.as_point();
            entry.handle += ct.handle.as_point();
            entry.value += i128::from(value);
        } else {
            entry.commitment -= ct.commitment.as_point();
            entry.handle -= ct.handle.as_point();
            entry.value -= i128::from(value);
        }
    }

    fn public(value: u64) -> Ciphertext {
        Ciphertext::zero().add_amount(value)
    }

    fn audited(&self, currency: &CurrencyId) -> bool {
        self.currencies.contains_key(currency)
    }

    pub(super) fn observe(&mut self, tx: &Transaction) -> Result<(), String> {
        match tx {
            Transaction::Issue(t) if self.audited(&t.currency) => {
                let (ct, v) = self.read(&t.amount)?;
                self.bump(&t.currency, |r| r.issued = r.issued.saturating_add(v));
                self.flow(t.currency, t.recipient.loyalty_id(), &ct, v, 1);
            }
            Transaction::Transfer(t) if self.audited(&t.currency) => {
                let (ct, v) = self.read(&t.amount)?;
                self.flow(t.currency, t.source.loyalty_id(), &ct, v, -1);
                self.flow(t.currency, t.destination.loyalty_id(), &ct, v, 1);
            }
            Transaction::Burn(t) if self.audited(&t.currency) => {
                let (ct, v) = self.read(&t.amount)?;
                self.bump(&t.currency, |r| r.burned = r.burned.saturating_add(v));
                self.flow(t.currency, t.source.loyalty_id(), &ct, v, -1);
            }
            Transaction::Exchange(t) => {
                let owner = t.owner.loyalty_id();
                if self.audited(&t.from) {
                    let (ct, v) = self.read(&t.amount_from)?;
                    self.bump(&t.from, |r| {
                        r.exchanged_out = r.exchanged_out.saturating_add(v)
                    });
                    self.flow(t.from, owner, &ct, v, -1);
                }
                if self.audited(&t.to) {
                    let (ct, v) = self.read(&t.amount_to)?;
                    self.bump(&t.to, |r| r.exchanged_in = r.exchanged_in.saturating_add(v));
                    self.flow(t.to, owner, &ct, v, 1);
                }
            }
            Transaction::Shield(t) if self.audited(&t.currency) => {
                self.bump(&t.currency, |r| {
                    r.shielded = r.shielded.saturating_add(t.value)
                });
                self.flow(
                    t.currency,
                    t.source.loyalty_id(),
                    &Self::public(t.value),
                    t.value,
                    -1,
                );
            }
            Transaction::Redeem(t) if self.audited(&t.currency) => {
                self.bump(&t.currency, |r| {
                    r.redeemed = r.redeemed.saturating_add(t.value)
                });
                self.flow(
                    t.currency,
                    t.merchant.loyalty_id(),
                    &Self::public(t.value),
                    t.value,
                    1,
                );
            }
            _ => {}
        }
        Ok(())
    }

    fn bump(&mut self, currency: &CurrencyId, add: impl FnOnce(&mut SupplyReport)) {
        if let Some(flows) = self.currencies.get_mut(currency) {
            add(&mut flows.report);
        }
    }

    /// The reconciliation against the final ledger.
    pub(super) fn finish(self, ledger: &AccountLedger) -> Vec<SupplyReport> {
        let g = coalition_core::generators::g();
        let mut out = Vec::new();
        for (currency, flows) in self.currencies {
            let mut report = flows.report;
            let mut problem = None;
            let mut in_accounts: i128 = 0;
            for ((owner, c), state) in ledger.accounts() {
                if *c != currency {
                    continue;
                }
                let audited = flows.accounts.get(owner).copied().unwrap_or_default();
                let committed =
                    state.available.commitment.as_point() + state.pending.commitment.as_point();
                if committed != audited.commitment {
                    problem.get_or_insert(format!(
                        "account {owner}: its committed balance is not the sum of the flows the blocks contain"
                    ));
                } else if audited.value < 0
                    || audited.commitment - self.key.secret.as_scalar() * audited.handle
                        != Scalar::from(u64::try_from(audited.value).unwrap_or(0)) * g
                {
                    problem.get_or_insert(format!(
                        "account {owner}: the auditor's reading ({}) is not the committed balance",
                        audited.value
                    ));
                } else {
                    report.accounts_checked += 1;
                }
                in_accounts += audited.value;
            }
            report.in_accounts = u64::try_from(in_accounts).unwrap_or(0);
            let pool = i128::from(report.shielded) - i128::from(report.redeemed);
            report.in_pool = u64::try_from(pool).unwrap_or(0);
            let supply = i128::from(report.issued)
                - i128::from(report.burned)
                - i128::from(report.exchanged_out)
                + i128::from(report.exchanged_in);
            if pool < 0 {
                problem.get_or_insert("more was redeemed from the pool than shielded".into());
            }
            if supply != in_accounts + pool {
                problem.get_or_insert(format!(
                    "issued − burned ∓ exchanged = {supply}, but accounts + pool hold {}",
                    in_accounts + pool
                ));
            }
            report.reconciled = problem.is_none();
            report.problem = problem;
            out.push(report);
        }
        out
    }
}
