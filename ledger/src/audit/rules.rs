//! The ledger's rules, re-derived from the transactions alone (spec §18.1).
//!
//! A replay runs the same state machine as the nodes, so a gap in that
//! state machine passes it. This model is a second, independent statement
//! of the rules an auditor cares most about, written from the spec rather
//! than from [`crate::governance`]: it reads only the genesis and the
//! transactions of accepted blocks, keeps its own small state, and
//!
//! * re-derives the membership history — proposals, votes counted among
//!   current members against `max(1, ⌈n·p/q⌉)`, decisions, removals that
//!   take a member's votes on open proposals with them — and after every
//!   block compares the members and threshold with the ledger's;
//! * checks that only a current member's currency is issued (removal
//!   freezes issuance), that only members register currencies (within the
//!   genesis cap, each symbol once), that terms name only members and set
//!   only rates between their partners' currencies that no other partner
//!   set sets and that give no more settlement value than they take, that
//!   a `Redeem` pays a member, and that an `Exchange` uses a rate in force;
//! * keeps each currency's pool balance from the public values alone:
//!   `Σ redeemed ≤ Σ shielded` per currency at every block, and no
//!   nullifier is ever revealed twice.
//!
//! It takes nothing from the state machine but two protocol constants
//! (`MAX_MEMBERS`, `PROPOSAL_TTL_BLOCKS`); even the approvals needed are
//! computed here. Anything it finds is a finding even when every signature and proof in
//! the block is valid and the replay accepted it.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use coalition_circuits::note::Nullifier;
use coalition_core::currency::{CurrencyId, ExchangeRate};
use coalition_core::governance::{MembershipAction, ProposalId};
use coalition_core::keys::{LoyaltyId, PublicIdentity};
use coalition_core::transaction::Transaction;

use crate::genesis::Genesis;
use crate::governance::{Threshold, MAX_MEMBERS, PROPOSAL_TTL_BLOCKS};
use crate::ledger::AccountLedger;

/// A proposal as the model sees it.
struct Open {
    action: MembershipAction,
    opened_at: u64,
    yes: BTreeSet<LoyaltyId>,
    no: BTreeSet<LoyaltyId>,
}

/// What the rules checked, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RuleChecks {
    /// Membership decisions re-derived (admissions and removals enacted).
    pub membership_changes: u64,
    /// Transactions whose signer or payee had to be a member.
    pub membership_checks: u64,
    /// Exchanges whose rate was found among the rates in force.
    pub exchange_rates: u64,
    /// Shielded-pool flows (Shield and Redeem values) balanced per currency.
    pub pool_flows: u64,
}

/// The independent rule model (see the module docs).
pub struct RulesModel {
    threshold: Threshold,
    cap: u32,
    members: BTreeMap<LoyaltyId, PublicIdentity>,
    proposals: BTreeMap<ProposalId, Open>,
    issuers: BTreeMap<CurrencyId, LoyaltyId>,
    values: BTreeMap<CurrencyId, ExchangeRate>,
    terms: BTreeMap<Vec<LoyaltyId>, Vec<(CurrencyId, CurrencyId, ExchangeRate)>>,
    pool: BTreeMap<CurrencyId, (u128, u128)>,
    nullifiers: HashSet<Nullifier>,
    /// What was checked so far.
    pub checks: RuleChecks,
}

impl RulesModel {
    /// The state at `genesis`.
    pub fn new(genesis: &Genesis) -> Self {
        RulesModel {
            threshold: genesis.threshold,
            cap: genesis.max_currencies_per_member,
            members: genesis
                .founders
                .iter()
                .map(|(_, id)| (id.loyalty_id(), *id))
                .collect(),
            proposals: BTreeMap::new(),
            issuers: BTreeMap::new(),
            values: BTreeMap::new(),
            terms: BTreeMap::new(),
            pool: BTreeMap::new(),
            nullifiers: HashSet::new(),
            checks: RuleChecks::default(),
        }
    }

    fn member(&mut self, who: &LoyaltyId, what: &str) -> Result<(), String> {
        self.checks.membership_checks += 1;
        if self.members.contains_key(who) {
            Ok(())
        } else {
            Err(format!("{what}, but {who} is not a member"))
        }
    }

    /// Applies one transaction of an accepted block at `height`, or says
    /// which rule it breaks.
    pub fn observe(&mut self, height: u64, tx: &Transaction) -> Result<(), String> {
        match tx {
            Transaction::Issue(t) => {
                let issuer = *self
                    .issuers
                    .get(&t.currency)
                    .ok_or("an Issue of a currency nobody registered")?;
                self.member(&issuer, "an Issue of a currency whose issuer was removed")?;
            }
            Transaction::RegisterCurrency(t) => {
                self.member(&t.issuer, "a currency registration")?;
                if self.issuers.contains_key(&t.currency) {
                    return Err(format!("{} is registered twice", t.currency));
                }
                let held = self.issuers.values().filter(|i| **i == t.issuer).count();
                if held >= self.cap as usize {
                    return Err(format!(
                        "{} registers more currencies than the genesis allows ({})",
                        t.issuer, self.cap
                    ));
                }
                self.issuers.insert(t.currency, t.issuer);
                self.values.insert(t.currency, t.settlement_value);
            }
            Transaction::Terms(signed) => {
                for partner in &signed.terms.partners {
                    self.member(&partner.loyalty_id(), "terms name a partner")?;
                }
                let set = signed.terms.partner_set();
                for (from, to, rate) in &signed.terms.rates {
                    self.check_rate(&set, *from, *to, *rate)?;
                }
                self.terms.insert(set, signed.terms.rates.clone());
            }
            Transaction::Exchange(t) => {
                let in_force = self
                    .terms
                    .values()
                    .flatten()
                    .any(|(f, o, r)| (*f, *o, *r) == (t.from, t.to, t.rate));
                if !in_force {
                    return Err(format!(
                        "an Exchange {} → {} at {}/{}, a rate no terms in force set",
                        t.from,
                        t.to,
                        t.rate.numerator(),
                        t.rate.denominator()
                    ));
                }
                self.checks.exchange_rates += 1;
            }
            Transaction::Shield(t) => {
                let entry = self.pool.entry(t.currency).or_default();
                entry.0 += u128::from(t.value);
                self.checks.pool_flows += 1;
            }
            Transaction::Redeem(t) => {
                self.member(&t.merchant.loyalty_id(), "a Redeem pays a merchant")?;
                for nf in &t.nullifiers {
                    if !self.nullifiers.insert(*nf) {
                        return Err("a nullifier is revealed a second time".into());
                    }
                }
                let entry = self.pool.entry(t.currency).or_default();
                entry.1 += u128::from(t.value);
                if entry.1 > entry.0 {
                    return Err(format!(
                        "{} redeemed from the pool in {} but only {} shielded",
                        entry.1, t.currency, entry.0
                    ));
                }
                self.checks.pool_flows += 1;
            }
            Transaction::ProposeMember(t) => {
                self.member(&t.proposer, "a membership proposal")?;
                let id = tx.id();
                self.proposals.insert(
                    id,
                    Open {
                        action: t.action.clone(),
                        opened_at: height,
                        yes: BTreeSet::from([t.proposer]),
                        no: BTreeSet::new(),
                    },
                );
                self.decide(height, id);
            }
            Transaction::Vote(t) => {
                self.member(&t.voter, "a vote")?;
                let open = self
                    .proposals
                    .get_mut(&t.proposal)
                    .ok_or("a vote on a proposal that is not open")?;
                if height > open.opened_at.saturating_add(PROPOSAL_TTL_BLOCKS) {
                    return Err("a vote on an expired proposal".into());
                }
                if open.yes.contains(&t.voter) || open.no.contains(&t.voter) {
                    return Err("a member votes twice on one proposal".into());
                }
                if t.approve {
                    open.yes.insert(t.voter);
                } else {
                    open.no.insert(t.voter);
                }
                self.decide(height, t.proposal);
            }
            Transaction::Transfer(_) | Transaction::ApplyPending(_) | Transaction::Burn(_) => {}
        }
        Ok(())
    }

    /// A rate terms may put in force (§16.4): between two currencies whose
    /// issuers are among the partners, not set by another partner set, and
    /// giving no more settlement value than it takes.
    fn check_rate(
        &self,
        set: &[LoyaltyId],
        from: CurrencyId,
        to: CurrencyId,
        rate: ExchangeRate,
    ) -> Result<(), String> {
        for c in [from, to] {
            match self.issuers.get(&c) {
                Some(issuer) if set.contains(issuer) => {}
                _ => {
                    return Err(format!(
                        "terms set a rate for {c}, whose issuer is not among their partners"
                    ))
                }
            }
        }
        let elsewhere = self.terms.iter().any(|(other, rates)| {
            other.as_slice() != set && rates.iter().any(|(f, t, _)| (*f, *t) == (from, to))
        });
        if elsewhere {
            return Err(format!("two partner sets set the rate {from} → {to}"));
        }
        // p/q · value(to) ≤ value(from), in integers: p·v_to·q_from ≤
        // v_from·q·q_to (each factor < 2^32, so each side < 2^96).
        let (vf, vt) = match (self.values.get(&from), self.values.get(&to)) {
            (Some(f), Some(t)) => (*f, *t),
            _ => return Err("a rate between currencies of unknown value".into()),
        };
        let wide = |x: u32| u128::from(x);
        let gives = wide(rate.numerator()) * wide(vt.numerator()) * wide(vf.denominator());
        let takes = wide(vf.numerator()) * wide(rate.denominator()) * wide(vt.denominator());
        if gives > takes {
            return Err(format!(
                "the rate {from} → {to} gives more settlement value than it takes"
            ));
        }
        Ok(())
    }

    /// Approvals needed among `n` members: `max(1, ⌈n·p/q⌉)` with the
    /// genesis threshold `p/q` (§16.2), computed here rather than by
    /// [`Threshold::needed`] so that a mistake there is caught.
    fn needed(&self, n: usize) -> usize {
        let p = u128::from(self.threshold.numerator());
        let q = u128::from(self.threshold.denominator());
        let n = n as u128;
        let ceil = (n * p).div_ceil(q);
        usize::try_from(ceil).unwrap_or(usize::MAX).max(1)
    }

    /// Decides `touched` if the votes of current members decide it; a
    /// removal changes who counts, so every live proposal is then counted
    /// again, pass after pass in proposal order, until a pass removes
    /// nobody (spec §16.2).
    fn decide(&mut self, height: u64, touched: ProposalId) {
        let mut removed = self.decide_one(height, &touched);
        while removed {
            removed = false;
            let live: Vec<ProposalId> = self.proposals.keys().copied().collect();
            for id in live {
                removed |= self.decide_one(height, &id);
            }
        }
    }

    /// Decides one proposal if it can be; whether that removed a member.
    fn decide_one(&mut self, height: u64, id: &ProposalId) -> bool {
        let Some(p) = self.proposals.get(id) else {
            return false;
        };
        if height > p.opened_at.saturating_add(PROPOSAL_TTL_BLOCKS) {
            return false;
        }
        let n = self.members.len();
        let needed = self.needed(n);
        let counted = |votes: &BTreeSet<LoyaltyId>| {
            votes
                .iter()
                .filter(|v| self.members.contains_key(v))
                .count()
        };
        let (yes, no) = (counted(&p.yes), counted(&p.no));
        if yes >= needed {
            let open = self.proposals.remove(id).expect("found above");
            self.enact(open.action)
        } else if n - no < needed {
            self.proposals.remove(id);
            false
        } else {
            false
        }
    }

    /// Applies an accepted action where it can still take effect (limits
    /// are checked when it is decided); whether it removed a member.
    fn enact(&mut self, action: MembershipAction) -> bool {
        match action {
            MembershipAction::Admit { candidate, .. } => {
                let id = candidate.loyalty_id();
                if !self.members.contains_key(&id) && self.members.len() < MAX_MEMBERS {
                    self.members.insert(id, candidate);
                    self.checks.membership_changes += 1;
                }
                false
            }
            MembershipAction::Remove { member } => {
                if self.members.len() <= 1 || self.members.remove(&member).is_none() {
                    return false;
                }
                self.checks.membership_changes += 1;
                for open in self.proposals.values_mut() {
                    open.yes.remove(&member);
                    open.no.remove(&member);
                }
                self.terms.retain(|set, _| !set.contains(&member));
                true
            }
        }
    }

    /// Compares the re-derived governance with the ledger's after a block.
    pub fn compare(&self, ledger: &AccountLedger) -> Result<(), String> {
        let governance = ledger.governance();
        if governance.threshold() != self.threshold {
            return Err("the ledger's membership threshold is not the genesis threshold".into());
        }
        let theirs: Vec<(&LoyaltyId, &PublicIdentity)> = governance
            .members()
            .iter()
            .map(|(id, m)| (id, &m.identity))
            .collect();
        let ours: Vec<(&LoyaltyId, &PublicIdentity)> = self.members.iter().collect();
        if theirs != ours {
            let missing = self
                .members
                .keys()
                .find(|m| !governance.members().contains_key(m));
            let extra = governance
                .members()
                .keys()
                .find(|m| !self.members.contains_key(m));
            return Err(match (missing, extra) {
                (Some(m), _) => format!(
                    "the ledger's members differ from those the votes decide: {m} is missing"
                ),
                (None, Some(m)) => format!(
                    "the ledger's members differ from those the votes decide: {m} is not a member"
                ),
                (None, None) => "a member's identity differs from the one admitted".into(),
            });
        }
        Ok(())
    }
}
