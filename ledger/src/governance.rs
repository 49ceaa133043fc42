//! Coalition governance (spec §16): members, membership votes, currency
//! registration and partnership terms, as part of the ledger state.
//!
//! Every rule here is deterministic and depends only on the state and the
//! block height, so replicas agree. Signatures were checked by the
//! verifier ([`coalition_verifier::transactions::prepare`]); this module
//! checks the state rules:
//!
//! * a governance transaction carries its signer's next governance nonce;
//! * a proposal is decided when `yes ≥ ⌈n·p/q⌉` (accepted) or when that has
//!   become impossible (rejected), counting only current members, where `n`
//!   is the current member count and `p/q` the genesis threshold; an open
//!   proposal expires [`PROPOSAL_TTL_BLOCKS`] blocks after it was made;
//! * a member registers only currencies it issues itself;
//! * terms take effect when every partner they name is a member and signed,
//!   replace the older version for the same partner set, and may set a rate
//!   only between currencies issued by their partners and not already set by
//!   another partner set; removing a member drops the terms that name it.

use std::collections::{BTreeMap, BTreeSet};

use coalition_core::currency::{CurrencyId, ExchangeRate, NoteLifetime};
use coalition_core::governance::{MembershipAction, ProposalId, MAX_MEMBER_NAME};
use coalition_core::keys::{LoyaltyId, PublicIdentity};
use coalition_core::partnership::SignedTerms;
use coalition_verifier::TxVerificationError;

/// Blocks after which an undecided proposal can no longer be voted on.
pub const PROPOSAL_TTL_BLOCKS: u64 = 10_000;
/// Most undecided proposals one member may have open at once.
pub const MAX_OPEN_PROPOSALS_PER_MEMBER: usize = 16;
/// Most members a coalition may have.
pub const MAX_MEMBERS: usize = 256;

/// The share of members whose approval admits or removes a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold {
    numerator: u32,
    denominator: u32,
}

impl Threshold {
    /// `p/q` with `0 < p ≤ q`.
    pub fn new(numerator: u32, denominator: u32) -> Option<Self> {
        (numerator > 0 && numerator <= denominator).then_some(Threshold {
            numerator,
            denominator,
        })
    }

    /// A simple majority-or-more: `2/3`.
    pub fn two_thirds() -> Self {
        Threshold {
            numerator: 2,
            denominator: 3,
        }
    }

    /// `p`.
    pub fn numerator(&self) -> u32 {
        self.numerator
    }

    /// `q`.
    pub fn denominator(&self) -> u32 {
        self.denominator
    }

    /// Approvals needed among `members`: `max(1, ⌈members·p/q⌉)`.
    pub fn needed(&self, members: usize) -> usize {
        let n = members as u64 * u64::from(self.numerator);
        let q = u64::from(self.denominator);
        (n.div_ceil(q) as usize).max(1)
    }
}

/// A coalition member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Signing and ElGamal keys.
    pub identity: PublicIdentity,
    /// Display name.
    pub name: String,
    /// Height at which it joined (0 for founders).
    pub admitted_at: u64,
    /// Next governance nonce.
    pub nonce: u64,
}

/// Where a proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposalStatus {
    /// Collecting votes.
    Open,
    /// Approved at this height; the action was applied.
    Accepted(u64),
    /// Could no longer reach the threshold, decided at this height.
    Rejected(u64),
}

/// A membership proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Who proposed it.
    pub proposer: LoyaltyId,
    /// What it asks for.
    pub action: MembershipAction,
    /// Height of the block that made it.
    pub opened_at: u64,
    /// Members who approved.
    pub yes: BTreeSet<LoyaltyId>,
    /// Members who refused.
    pub no: BTreeSet<LoyaltyId>,
    /// Status.
    pub status: ProposalStatus,
}

impl Proposal {
    /// Whether votes are still accepted at `height`.
    pub fn is_open_at(&self, height: u64) -> bool {
        self.status == ProposalStatus::Open
            && height <= self.opened_at.saturating_add(PROPOSAL_TTL_BLOCKS)
    }
}

/// What governance records about a registered currency beyond its policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrencyInfo {
    /// Decimal places for display.
    pub decimals: u8,
    /// Value of one point in the settlement unit.
    pub settlement_value: ExchangeRate,
    /// How long its shielded notes stay spendable.
    pub note_lifetime: NoteLifetime,
    /// Height of registration (0 at genesis).
    pub registered_at: u64,
}

/// The governance part of the ledger state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Governance {
    threshold: Threshold,
    members: BTreeMap<LoyaltyId, Member>,
    proposals: BTreeMap<ProposalId, Proposal>,
    currencies: BTreeMap<CurrencyId, CurrencyInfo>,
    terms: BTreeMap<Vec<LoyaltyId>, SignedTerms>,
    /// Former members' next governance nonce: a readmitted partner carries
    /// on from it, so its old signed transactions cannot be replayed.
    retired: BTreeMap<LoyaltyId, u64>,
    /// For partner sets whose terms a removal dropped: the version that
    /// was in force. New terms for the set must be newer, so superseded
    /// versions cannot be submitted again after a readmission.
    terms_floor: BTreeMap<Vec<LoyaltyId>, u64>,
}

fn rule(reason: &'static str) -> TxVerificationError {
    TxVerificationError::Governance(reason)
}

/// What an accepted proposal or new terms change in the rest of the ledger.
#[derive(Debug, Default)]
pub(crate) struct RateChanges {
    /// Rates that stop being in force.
    pub removed: Vec<(CurrencyId, CurrencyId)>,
    /// Rates that come into force.
    pub added: Vec<(CurrencyId, CurrencyId, ExchangeRate)>,
}

impl Governance {
    /// No members (ledgers built for unit tests).
    pub fn empty() -> Self {
        Governance {
            threshold: Threshold::two_thirds(),
            members: BTreeMap::new(),
            proposals: BTreeMap::new(),
            currencies: BTreeMap::new(),
            terms: BTreeMap::new(),
            retired: BTreeMap::new(),
            terms_floor: BTreeMap::new(),
        }
    }

    /// The founders' coalition.
    pub fn founded(
        founders: &[(String, PublicIdentity)],
        threshold: Threshold,
    ) -> Result<Self, &'static str> {
        if founders.is_empty() || founders.len() > MAX_MEMBERS {
            return Err("a coalition needs 1 to 256 founding partners");
        }
        let mut members = BTreeMap::new();
        for (name, identity) in founders {
            check_name(name)?;
            let member = Member {
                identity: *identity,
                name: name.clone(),
                admitted_at: 0,
                nonce: 0,
            };
            if members.insert(identity.loyalty_id(), member).is_some() {
                return Err("founding partners must be distinct");
            }
        }
        Ok(Governance {
            threshold,
            members,
            ..Governance::empty()
        })
    }

    /// The voting threshold.
    pub fn threshold(&self) -> Threshold {
        self.threshold
    }

    /// Current members by loyalty ID.
    pub fn members(&self) -> &BTreeMap<LoyaltyId, Member> {
        &self.members
    }

    /// Every proposal ever made.
    pub fn proposals(&self) -> &BTreeMap<ProposalId, Proposal> {
        &self.proposals
    }

    /// Registration details of currencies registered through governance.
    pub fn currencies(&self) -> &BTreeMap<CurrencyId, CurrencyInfo> {
        &self.currencies
    }

    /// Terms in force, by sorted partner set.
    pub fn terms(&self) -> &BTreeMap<Vec<LoyaltyId>, SignedTerms> {
        &self.terms
    }

    /// Former members' next governance nonces.
    pub fn retired(&self) -> &BTreeMap<LoyaltyId, u64> {
        &self.retired
    }

    /// The newest dropped terms version per partner set.
    pub fn terms_floor(&self) -> &BTreeMap<Vec<LoyaltyId>, u64> {
        &self.terms_floor
    }

    #[allow(clippy::too_many_arguments)] // one per part of the state
    pub(crate) fn from_parts(
        threshold: Threshold,
        members: BTreeMap<LoyaltyId, Member>,
        proposals: BTreeMap<ProposalId, Proposal>,
        currencies: BTreeMap<CurrencyId, CurrencyInfo>,
        terms: BTreeMap<Vec<LoyaltyId>, SignedTerms>,
        retired: BTreeMap<LoyaltyId, u64>,
        terms_floor: BTreeMap<Vec<LoyaltyId>, u64>,
    ) -> Self {
        Governance {
            threshold,
            members,
            proposals,
            currencies,
            terms,
            retired,
            terms_floor,
        }
    }

    pub(crate) fn record_currency(&mut self, id: CurrencyId, info: CurrencyInfo) {
        self.currencies.insert(id, info);
    }

    /// Checks and consumes `signer`'s governance nonce.
    pub(crate) fn use_nonce(
        &mut self,
        signer: &LoyaltyId,
        nonce: u64,
    ) -> Result<(), TxVerificationError> {
        let member = self
            .members
            .get_mut(signer)
            .ok_or(rule("the signer is not a member"))?;
        if member.nonce != nonce {
            return Err(rule("wrong governance nonce"));
        }
        member.nonce += 1;
        Ok(())
    }

    /// Opens a proposal (the proposer's nonce was already consumed).
    pub(crate) fn propose(
        &mut self,
        id: ProposalId,
        proposer: LoyaltyId,
        action: &MembershipAction,
        height: u64,
    ) -> Result<RateChanges, TxVerificationError> {
        match action {
            MembershipAction::Admit { candidate, name } => {
                check_name(name).map_err(rule)?;
                if self.members.contains_key(&candidate.loyalty_id()) {
                    return Err(rule("the candidate is already a member"));
                }
                if self.members.len() >= MAX_MEMBERS {
                    return Err(rule("the coalition is full"));
                }
            }
            MembershipAction::Remove { member } => {
                if !self.members.contains_key(member) {
                    return Err(rule("no such member to remove"));
                }
                if self.members.len() == 1 {
                    return Err(rule("the last member cannot be removed"));
                }
            }
        }
        let open_same = self
            .proposals
            .values()
            .any(|p| p.is_open_at(height) && same_subject(&p.action, action));
        if open_same {
            return Err(rule("an open proposal already concerns this partner"));
        }
        let open_by_proposer = self
            .proposals
            .values()
            .filter(|p| p.proposer == proposer && p.is_open_at(height))
            .count();
        if open_by_proposer >= MAX_OPEN_PROPOSALS_PER_MEMBER {
            return Err(rule("too many open proposals by this member"));
        }
        if self.proposals.contains_key(&id) {
            return Err(rule("duplicate proposal"));
        }
        self.proposals.insert(
            id,
            Proposal {
                proposer,
                action: action.clone(),
                opened_at: height,
                yes: BTreeSet::from([proposer]),
                no: BTreeSet::new(),
                status: ProposalStatus::Open,
            },
        );
        Ok(self.tally(&id, height))
    }

    /// Records a vote (the voter's nonce was already consumed).
    pub(crate) fn vote(
        &mut self,
        voter: LoyaltyId,
        proposal: &ProposalId,
        approve: bool,
        height: u64,
    ) -> Result<RateChanges, TxVerificationError> {
        let entry = self
            .proposals
            .get_mut(proposal)
            .ok_or(rule("no such proposal"))?;
        if !entry.is_open_at(height) {
            return Err(rule("the proposal is decided or expired"));
        }
        if entry.yes.contains(&voter) || entry.no.contains(&voter) {
            return Err(rule("this member already voted"));
        }
        if approve {
            entry.yes.insert(voter);
        } else {
            entry.no.insert(voter);
        }
        Ok(self.tally(proposal, height))
    }

    /// Decides `id` if its votes allow; an enacted removal changes `n`,
    /// `needed` and whose votes count, so every open proposal is then
    /// counted again, until none is decided.
    fn tally(&mut self, id: &ProposalId, height: u64) -> RateChanges {
        let mut changes = RateChanges::default();
        let mut removed = self.tally_one(id, height, &mut changes);
        while removed {
            removed = false;
            let open: Vec<ProposalId> = self
                .proposals
                .iter()
                .filter(|(_, p)| p.is_open_at(height))
                .map(|(id, _)| *id)
                .collect();
            for open_id in open {
                removed |= self.tally_one(&open_id, height, &mut changes);
            }
        }
        changes
    }

    /// Why an accepted `action` cannot take effect now (the limits are
    /// checked again when a proposal is decided, not only when made:
    /// parallel proposals could otherwise pass them).
    fn cannot_enact(&self, action: &MembershipAction) -> Option<&'static str> {
        match action {
            MembershipAction::Admit { candidate, .. } => {
                if self.members.contains_key(&candidate.loyalty_id()) {
                    Some("the candidate is already a member")
                } else if self.members.len() >= MAX_MEMBERS {
                    Some("the coalition is full")
                } else {
                    None
                }
            }
            MembershipAction::Remove { member } => {
                if !self.members.contains_key(member) {
                    Some("no such member to remove")
                } else if self.members.len() == 1 {
                    Some("the last member cannot be removed")
                } else {
                    None
                }
            }
        }
    }

    /// Decides one proposal if it can be; returns whether that removed a
    /// member.
    fn tally_one(&mut self, id: &ProposalId, height: u64, changes: &mut RateChanges) -> bool {
        let members = &self.members;
        let Some(proposal) = self.proposals.get(id) else {
            return false;
        };
        let n = members.len();
        let needed = self.threshold.needed(n);
        let yes = proposal
            .yes
            .iter()
            .filter(|v| members.contains_key(v))
            .count();
        let no = proposal
            .no
            .iter()
            .filter(|v| members.contains_key(v))
            .count();
        let decided = if yes >= needed {
            let action = proposal.action.clone();
            match self.cannot_enact(&action) {
                None => Some((ProposalStatus::Accepted(height), Some(action))),
                Some(_) => Some((ProposalStatus::Rejected(height), None)),
            }
        } else if n - no < needed {
            Some((ProposalStatus::Rejected(height), None))
        } else {
            None
        };
        let Some((status, action)) = decided else {
            return false;
        };
        if let Some(proposal) = self.proposals.get_mut(id) {
            proposal.status = status;
        }
        let Some(action) = action else {
            return false;
        };
        let enacted = self.enact(&action, height);
        changes.removed.extend(enacted.removed);
        changes.added.extend(enacted.added);
        matches!(action, MembershipAction::Remove { .. })
    }

    fn enact(&mut self, action: &MembershipAction, height: u64) -> RateChanges {
        match action {
            MembershipAction::Admit { candidate, name } => {
                let id = candidate.loyalty_id();
                let nonce = self.retired.remove(&id).unwrap_or(0);
                self.members.insert(
                    id,
                    Member {
                        identity: *candidate,
                        name: name.clone(),
                        admitted_at: height,
                        nonce,
                    },
                );
                RateChanges::default()
            }
            MembershipAction::Remove { member } => {
                if let Some(removed) = self.members.remove(member) {
                    self.retired.insert(*member, removed.nonce);
                }
                // Its votes on undecided proposals go with it: they must
                // not count again if it is readmitted.
                for proposal in self.proposals.values_mut() {
                    if proposal.status == ProposalStatus::Open {
                        proposal.yes.remove(member);
                        proposal.no.remove(member);
                    }
                }
                let dropped: Vec<Vec<LoyaltyId>> = self
                    .terms
                    .keys()
                    .filter(|set| set.contains(member))
                    .cloned()
                    .collect();
                let mut changes = RateChanges::default();
                for set in dropped {
                    if let Some(old) = self.terms.remove(&set) {
                        self.terms_floor.insert(set, old.terms.version);
                        changes
                            .removed
                            .extend(old.terms.rates.iter().map(|(f, t, _)| (*f, *t)));
                    }
                }
                changes
            }
        }
    }

    /// Puts terms in force. `issuer_of` gives each registered currency's
    /// issuer.
    pub(crate) fn adopt_terms(
        &mut self,
        signed: &SignedTerms,
        issuer_of: impl Fn(&CurrencyId) -> Option<LoyaltyId>,
    ) -> Result<RateChanges, TxVerificationError> {
        let set = signed.terms.partner_set();
        if let Some(current) = self.terms.get(&set) {
            if signed.terms.version <= current.terms.version {
                return Err(rule("terms version is not newer than the one in force"));
            }
        }
        if let Some(floor) = self.terms_floor.get(&set) {
            if signed.terms.version <= *floor {
                return Err(rule(
                    "terms version is not newer than the one a removal dropped",
                ));
            }
        }
        let covered = |c: &CurrencyId| -> Result<(), TxVerificationError> {
            let issuer = issuer_of(c).ok_or(rule("terms name an unregistered currency"))?;
            if set.binary_search(&issuer).is_err() {
                return Err(rule(
                    "terms name a currency whose issuer is not among their partners",
                ));
            }
            Ok(())
        };
        let mut pairs = BTreeSet::new();
        for (from, to, rate) in &signed.terms.rates {
            covered(from)?;
            covered(to)?;
            if from == to {
                return Err(rule("a rate from a currency to itself"));
            }
            if !pairs.insert((*from, *to)) {
                return Err(rule("a rate is set twice"));
            }
            if !keeps_settlement_value(*rate, self.currencies.get(from), self.currencies.get(to)) {
                return Err(rule(
                    "the rate gives more settlement value than it takes (an arbitrage cycle could mint points)",
                ));
            }
            let elsewhere = self.terms.iter().any(|(other, t)| {
                *other != set && t.terms.rates.iter().any(|(f, o, _)| (f, o) == (from, to))
            });
            if elsewhere {
                return Err(rule("another partnership already sets this rate"));
            }
        }
        for earn in &signed.terms.earn_rules {
            covered(&earn.currency)?;
        }
        let mut changes = RateChanges::default();
        self.terms_floor.remove(&set);
        if let Some(old) = self.terms.insert(set, signed.clone()) {
            changes
                .removed
                .extend(old.terms.rates.iter().map(|(f, t, _)| (*f, *t)));
        }
        changes.added.extend(signed.terms.rates.iter().copied());
        Ok(changes)
    }

    /// Feeds every part of the governance state, in key order with explicit
    /// lengths, to `put` (for the state hash).
    pub(crate) fn hash_into(&self, put: &mut impl FnMut(&[u8])) {
        use coalition_core::encoding::Encode;
        put(b"governance");
        put(&self.threshold.numerator.to_le_bytes());
        put(&self.threshold.denominator.to_le_bytes());
        put(&(self.members.len() as u64).to_le_bytes());
        for (id, m) in &self.members {
            put(&id.0);
            put(&m.identity.to_bytes());
            put(m.name.as_bytes());
            put(&m.admitted_at.to_le_bytes());
            put(&m.nonce.to_le_bytes());
        }
        put(&(self.proposals.len() as u64).to_le_bytes());
        for (id, p) in &self.proposals {
            put(&id.0);
            put(&encode_proposal(p));
        }
        put(&(self.currencies.len() as u64).to_le_bytes());
        for (id, c) in &self.currencies {
            put(id.as_bytes());
            put(&[c.decimals]);
            put(&c.settlement_value.to_bytes());
            put(&c.note_lifetime.as_u32().to_le_bytes());
            put(&c.registered_at.to_le_bytes());
        }
        put(&(self.terms.len() as u64).to_le_bytes());
        for signed in self.terms.values() {
            put(&signed.to_bytes());
        }
        put(&(self.retired.len() as u64).to_le_bytes());
        for (id, nonce) in &self.retired {
            put(&id.0);
            put(&nonce.to_le_bytes());
        }
        put(&(self.terms_floor.len() as u64).to_le_bytes());
        for (set, version) in &self.terms_floor {
            put(&encode_terms_floor(set, *version));
        }
    }
}

/// Whether converting at `rate` from a currency worth `from` to one worth
/// `to` (settlement values, spec §16.5) creates no settlement value:
/// `rate · value(to) ≤ value(from)`, exactly, in u128 (three u32 factors a
/// side). Every rate keeping value makes every cycle's product at most 1
/// (the values telescope), so no sequence of exchanges mints points.
fn keeps_settlement_value(
    r: ExchangeRate,
    from: Option<&CurrencyInfo>,
    to: Option<&CurrencyInfo>,
) -> bool {
    let (Some(from), Some(to)) = (from, to) else {
        return false;
    };
    let (vf, vt) = (from.settlement_value, to.settlement_value);
    let gained =
        u128::from(r.numerator()) * u128::from(vt.numerator()) * u128::from(vf.denominator());
    let given =
        u128::from(vf.numerator()) * u128::from(r.denominator()) * u128::from(vt.denominator());
    gained <= given
}

/// Canonical bytes of a dropped terms version: `version (u64) ‖ count (u32)
/// ‖ partner loyalty IDs` (state hash and storage).
pub fn encode_terms_floor(set: &[LoyaltyId], version: u64) -> Vec<u8> {
    let mut out = version.to_le_bytes().to_vec();
    out.extend_from_slice(&(set.len() as u32).to_le_bytes());
    for id in set {
        out.extend_from_slice(&id.0);
    }
    out
}

/// Canonical bytes of a proposal (state hash and storage).
pub fn encode_proposal(p: &Proposal) -> Vec<u8> {
    use coalition_core::encoding::Encode;
    let mut out = Vec::new();
    out.extend_from_slice(&p.proposer.0);
    match &p.action {
        MembershipAction::Admit { candidate, name } => {
            out.push(0);
            candidate.encode(&mut out);
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
        }
        MembershipAction::Remove { member } => {
            out.push(1);
            out.extend_from_slice(&member.0);
        }
    }
    out.extend_from_slice(&p.opened_at.to_le_bytes());
    for set in [&p.yes, &p.no] {
        out.extend_from_slice(&(set.len() as u32).to_le_bytes());
        for id in set {
            out.extend_from_slice(&id.0);
        }
    }
    match p.status {
        ProposalStatus::Open => out.push(0),
        ProposalStatus::Accepted(h) => {
            out.push(1);
            out.extend_from_slice(&h.to_le_bytes());
        }
        ProposalStatus::Rejected(h) => {
            out.push(2);
            out.extend_from_slice(&h.to_le_bytes());
        }
    }
    out
}

fn same_subject(a: &MembershipAction, b: &MembershipAction) -> bool {
    let subject = |x: &MembershipAction| match x {
        MembershipAction::Admit { candidate, .. } => candidate.loyalty_id(),
        MembershipAction::Remove { member } => *member,
    };
    subject(a) == subject(b)
}

fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_MEMBER_NAME {
        return Err("a member name must be 1 to 64 bytes");
    }
    Ok(())
}
