//! The ledger state as key–value records (spec §17.1), for storage.
//!
//! [`AccountLedger::write_changes`] emits the records that differ between
//! two states (what one block changed); [`AccountLedger::load`] rebuilds a
//! state from every record. The note tree is rebuilt level by level from
//! the stored notes' commitments, and the caller checks the rebuilt
//! state's hash against the last committed header, so a damaged store is
//! found at start-up.
//!
//! ```text
//! accounts    owner (32) ‖ currency (8)   → owner identity ‖ available ‖ pending ‖ credits ‖ nonce
//! note_tree   "n" ‖ position (u64 BE)     → note output
//!             "r" ‖ ρ (32)                → ()
//! nullifiers  nullifier (32)              → ()
//! governance  "c" ‖ currency              → issuer identity ‖ auditor?
//!             "i" ‖ currency              → decimals ‖ settlement value ‖ note lifetime ‖ registered at
//!             "n" ‖ currency              → next issuer nonce
//!             "x" ‖ from ‖ to             → rate
//!             "m" ‖ member id             → identity ‖ name ‖ admitted at ‖ nonce
//!             "p" ‖ proposal id           → proposal
//!             "t" ‖ SHA-256(partner set)  → signed terms
//!             "r" ‖ former member id      → its next governance nonce
//!             "v" ‖ SHA-256(partner set)  → dropped terms version ‖ count ‖ partner set
//!             "q"                         → threshold p ‖ q
//! metadata    "height"                    → u64
//!             "roots"                     → count ‖ roots (oldest first)
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use coalition_circuits::merkle::{NoteTree, RecentRoots};
use coalition_circuits::note::{Nullifier, Rho};
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::elgamal::Ciphertext;
use coalition_core::encoding::{decode_exact, Decode, Encode, Reader};
use coalition_core::governance::{read_name, MembershipAction};
use coalition_core::keys::{ElGamalPublicKey, LoyaltyId, PublicIdentity};
use coalition_core::partnership::SignedTerms;
use coalition_core::shielded::NoteOutput;
use coalition_core::DecodeError;
use coalition_params::ShieldedVerifyingKeys;
use imbl::ordmap::DiffItem;
use imbl::ordset::DiffItem as SetDiffItem;
use sha2::{Digest, Sha256};

use super::{AccountLedger, ShieldedPool, ROOT_WINDOW};
use crate::governance::{
    encode_proposal, encode_terms_floor, CurrencyInfo, Governance, Member, Proposal,
    ProposalStatus, Threshold,
};

/// Which table (RocksDB column family) a record lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    /// Account states.
    Accounts,
    /// Notes and ρ values.
    NoteTree,
    /// Revealed nullifiers.
    Nullifiers,
    /// Currencies, rates, members, proposals, terms.
    Governance,
    /// Height and recent roots.
    Metadata,
}

/// Receives record changes.
pub trait StateWriter {
    /// Sets `key` to `value`.
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>);
    /// Removes `key`.
    fn delete(&mut self, table: Table, key: Vec<u8>);
}

/// Key–value pairs in key order.
pub type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// Reads records back.
pub trait StateReader {
    /// Error of the backing store.
    type Error: From<DecodeError>;
    /// Every record of `table` whose key starts with `prefix`, in key order.
    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Records, Self::Error>;
    /// One record.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, Self::Error>;
}

/// Records held in memory, in key order per table, exactly as the store
/// keeps them: a state written here and loaded back is the state a node
/// restarted from its store would have (tests, benchmarks, tools).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemoryRecords(BTreeMap<(Table, Vec<u8>), Vec<u8>>);

impl MemoryRecords {
    /// Every record, by table then key.
    pub fn iter(&self) -> impl Iterator<Item = (&(Table, Vec<u8>), &Vec<u8>)> {
        self.0.iter()
    }

    /// The value of one record, to alter it (tests of damage detection).
    pub fn get_mut(&mut self, table: Table, key: &[u8]) -> Option<&mut Vec<u8>> {
        self.0.get_mut(&(table, key.to_vec()))
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl StateWriter for MemoryRecords {
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.0.insert((table, key), value);
    }

    fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.0.remove(&(table, key));
    }
}

impl StateReader for MemoryRecords {
    type Error = DecodeError;

    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Records, DecodeError> {
        Ok(self
            .0
            .range((table, prefix.to_vec())..)
            .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, DecodeError> {
        Ok(self.0.get(&(table, key.to_vec())).cloned())
    }
}

fn key(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn bytes_of<T: Encode>(value: &T) -> Vec<u8> {
    value.to_bytes()
}

/// Writes every entry of `new` that differs from `old`, deletes the keys
/// `new` lost.
fn diff_map<K: Ord, V: PartialEq>(
    w: &mut dyn StateWriter,
    table: Table,
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
    key_of: impl Fn(&K) -> Vec<u8>,
    value_of: impl Fn(&V) -> Vec<u8>,
) {
    diff_map_keyed(w, table, old, new, key_of, |_, v| value_of(v));
}

/// [`diff_map`] for records whose value also encodes the key (a hashed
/// key, such as a partner set's, cannot be read back otherwise).
fn diff_map_keyed<K: Ord, V: PartialEq>(
    w: &mut dyn StateWriter,
    table: Table,
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
    key_of: impl Fn(&K) -> Vec<u8>,
    value_of: impl Fn(&K, &V) -> Vec<u8>,
) {
    for (k, v) in new {
        if old.get(k) != Some(v) {
            w.put(table, key_of(k), value_of(k, v));
        }
    }
    for k in old.keys() {
        if !new.contains_key(k) {
            w.delete(table, key_of(k));
        }
    }
}

fn encode_account(a: &AccountState) -> Vec<u8> {
    let mut out = a.owner.to_bytes();
    a.available.encode(&mut out);
    a.pending.encode(&mut out);
    out.extend_from_slice(&a.pending_credits.to_le_bytes());
    out.extend_from_slice(&a.nonce.to_le_bytes());
    out
}

fn decode_account(bytes: &[u8]) -> Result<AccountState, DecodeError> {
    let mut r = Reader::new(bytes);
    let account = AccountState {
        owner: PublicIdentity::decode(&mut r)?,
        available: Ciphertext::decode(&mut r)?,
        pending: Ciphertext::decode(&mut r)?,
        pending_credits: r.u64("pending credits")?,
        nonce: r.u64("nonce")?,
    };
    r.finish()?;
    Ok(account)
}

fn encode_policy(p: &CurrencyPolicy) -> Vec<u8> {
    let mut out = p.issuer.to_bytes();
    match &p.auditor {
        None => out.push(0),
        Some(key) => {
            out.push(1);
            key.encode(&mut out);
        }
    }
    out
}

fn decode_policy(id: CurrencyId, bytes: &[u8]) -> Result<CurrencyPolicy, DecodeError> {
    let mut r = Reader::new(bytes);
    let issuer = PublicIdentity::decode(&mut r)?;
    let auditor = match r.flag("auditor")? {
        false => None,
        true => Some(ElGamalPublicKey::decode(&mut r)?),
    };
    r.finish()?;
    Ok(CurrencyPolicy {
        id,
        issuer,
        auditor,
    })
}

fn encode_info(i: &CurrencyInfo) -> Vec<u8> {
    let mut out = vec![i.decimals];
    i.settlement_value.encode(&mut out);
    i.note_lifetime.encode(&mut out);
    out.extend_from_slice(&i.registered_at.to_le_bytes());
    out
}

fn decode_info(bytes: &[u8]) -> Result<CurrencyInfo, DecodeError> {
    let mut r = Reader::new(bytes);
    let info = CurrencyInfo {
        decimals: r.u8("decimals")?,
        settlement_value: ExchangeRate::decode(&mut r)?,
        note_lifetime: NoteLifetime::decode(&mut r)?,
        registered_at: r.u64("registered at")?,
    };
    r.finish()?;
    Ok(info)
}

fn encode_member(m: &Member) -> Vec<u8> {
    let mut out = m.identity.to_bytes();
    out.push(m.name.len() as u8);
    out.extend_from_slice(m.name.as_bytes());
    out.extend_from_slice(&m.admitted_at.to_le_bytes());
    out.extend_from_slice(&m.nonce.to_le_bytes());
    out
}

fn decode_member(bytes: &[u8]) -> Result<Member, DecodeError> {
    let mut r = Reader::new(bytes);
    let member = Member {
        identity: PublicIdentity::decode(&mut r)?,
        name: read_name(&mut r, "member name")?,
        admitted_at: r.u64("admitted at")?,
        nonce: r.u64("governance nonce")?,
    };
    r.finish()?;
    Ok(member)
}

fn read_ids(r: &mut Reader<'_>) -> Result<BTreeSet<LoyaltyId>, DecodeError> {
    let n = r.u32("vote count")? as usize;
    if n > crate::governance::MAX_MEMBERS {
        return Err(DecodeError::OutOfBounds {
            what: "vote count",
            value: n as u64,
        });
    }
    (0..n).map(|_| Ok(LoyaltyId(r.array("voter")?))).collect()
}

fn decode_proposal(bytes: &[u8]) -> Result<Proposal, DecodeError> {
    let mut r = Reader::new(bytes);
    let proposer = LoyaltyId(r.array("proposer")?);
    let action = match r.u8("action")? {
        0 => MembershipAction::Admit {
            candidate: PublicIdentity::decode(&mut r)?,
            name: read_name(&mut r, "candidate name")?,
        },
        1 => MembershipAction::Remove {
            member: LoyaltyId(r.array("member")?),
        },
        tag => {
            return Err(DecodeError::UnknownTag {
                what: "action",
                tag,
            })
        }
    };
    let opened_at = r.u64("opened at")?;
    let yes = read_ids(&mut r)?;
    let no = read_ids(&mut r)?;
    let status = match r.u8("status")? {
        0 => ProposalStatus::Open,
        1 => ProposalStatus::Accepted(r.u64("decided at")?),
        2 => ProposalStatus::Rejected(r.u64("decided at")?),
        tag => {
            return Err(DecodeError::UnknownTag {
                what: "status",
                tag,
            })
        }
    };
    r.finish()?;
    Ok(Proposal {
        proposer,
        action,
        opened_at,
        yes,
        no,
        status,
    })
}

fn terms_key(prefix: &[u8], set: &[LoyaltyId]) -> Vec<u8> {
    let mut h = Sha256::new();
    for id in set {
        h.update(id.0);
    }
    key(prefix, &[&h.finalize()])
}

fn decode_terms_floor(bytes: &[u8]) -> Result<(Vec<LoyaltyId>, u64), DecodeError> {
    let mut r = Reader::new(bytes);
    let version = r.u64("terms version")?;
    let n = r.u32("partner count")? as usize;
    if n > coalition_core::partnership::MAX_ITEMS {
        return Err(DecodeError::OutOfBounds {
            what: "partner count",
            value: n as u64,
        });
    }
    let mut set = Vec::with_capacity(n);
    for _ in 0..n {
        set.push(LoyaltyId(r.array("partner")?));
    }
    r.finish()?;
    Ok((set, version))
}

fn encode_roots(roots: &RecentRoots) -> Vec<u8> {
    let list: Vec<[u8; 32]> = roots
        .iter()
        .map(coalition_circuits::field::to_bytes)
        .collect();
    let mut out = (list.len() as u32).to_le_bytes().to_vec();
    for r in list {
        out.extend_from_slice(&r);
    }
    out
}

fn u64_of(bytes: &[u8], what: &'static str) -> Result<u64, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = r.u64(what)?;
    r.finish()?;
    Ok(v)
}

fn invalid(what: &'static str) -> DecodeError {
    DecodeError::Invalid {
        what,
        reason: "malformed stored key",
    }
}

impl AccountLedger {
    /// Emits the records that differ between `before` and `self`. When
    /// `self` was computed from `before` (a block), the two share all but
    /// what the block changed, and the comparison visits only that.
    pub fn write_changes(&self, before: &AccountLedger, w: &mut dyn StateWriter) {
        // Accounts are never deleted; their cached digests say which changed.
        for change in before.digests.diff(&self.digests) {
            let k = match change {
                DiffItem::Add(k, _) | DiffItem::Update { new: (k, _), .. } => k,
                DiffItem::Remove(..) => continue,
            };
            if let Some(account) = self.accounts.get(k) {
                w.put(
                    Table::Accounts,
                    key(&k.0 .0, &[k.1.as_bytes()]),
                    encode_account(account),
                );
            }
        }
        diff_map(
            w,
            Table::Governance,
            &before.currencies,
            &self.currencies,
            |c| key(b"c", &[c.as_bytes()]),
            encode_policy,
        );
        diff_map(
            w,
            Table::Governance,
            &before.issuer_nonces,
            &self.issuer_nonces,
            |c| key(b"n", &[c.as_bytes()]),
            |n| n.to_le_bytes().to_vec(),
        );
        diff_map(
            w,
            Table::Governance,
            &before.rates,
            &self.rates,
            |(f, t)| key(b"x", &[f.as_bytes(), t.as_bytes()]),
            bytes_of,
        );
        let (g0, g1) = (&before.governance, &self.governance);
        diff_map(
            w,
            Table::Governance,
            g0.currencies(),
            g1.currencies(),
            |c| key(b"i", &[c.as_bytes()]),
            encode_info,
        );
        diff_map(
            w,
            Table::Governance,
            g0.members(),
            g1.members(),
            |id| key(b"m", &[&id.0]),
            encode_member,
        );
        diff_map(
            w,
            Table::Governance,
            g0.proposals(),
            g1.proposals(),
            |id| key(b"p", &[&id.0]),
            encode_proposal,
        );
        diff_map(
            w,
            Table::Governance,
            g0.terms(),
            g1.terms(),
            |set| terms_key(b"t", set),
            bytes_of,
        );
        diff_map(
            w,
            Table::Governance,
            g0.retired(),
            g1.retired(),
            |id| key(b"r", &[&id.0]),
            |nonce| nonce.to_le_bytes().to_vec(),
        );
        diff_map_keyed(
            w,
            Table::Governance,
            g0.terms_floor(),
            g1.terms_floor(),
            |set| terms_key(b"v", set),
            |set, version| encode_terms_floor(set, *version),
        );
        if g0.threshold() != g1.threshold() || before.height == 0 {
            let t = g1.threshold();
            let mut v = t.numerator().to_le_bytes().to_vec();
            v.extend_from_slice(&t.denominator().to_le_bytes());
            w.put(Table::Governance, b"q".to_vec(), v);
        }
        if before.height != self.height || self.height == 0 {
            w.put(
                Table::Metadata,
                b"height".to_vec(),
                self.height.to_le_bytes().to_vec(),
            );
        }
        if let Some(pool) = &self.pool {
            let empty = ShieldedPool::new(pool.keys.clone());
            let old = before.pool.as_ref().unwrap_or(&empty);
            for (position, note) in (old.notes.len()..).zip(pool.notes_from(old.notes.len())) {
                w.put(
                    Table::NoteTree,
                    key(b"n", &[&(position as u64).to_be_bytes()]),
                    note.to_bytes(),
                );
            }
            // Both sets only grow.
            for change in old.rhos.diff(&pool.rhos) {
                if let SetDiffItem::Add(rho) = change {
                    w.put(Table::NoteTree, key(b"r", &[&rho.to_bytes()]), Vec::new());
                }
            }
            for change in old.nullifiers.diff(&pool.nullifiers) {
                if let SetDiffItem::Add(nf) = change {
                    w.put(Table::Nullifiers, nf.to_bytes().to_vec(), Vec::new());
                }
            }
            if !pool.roots.iter().eq(old.roots.iter()) || before.height == 0 {
                w.put(
                    Table::Metadata,
                    b"roots".to_vec(),
                    encode_roots(&pool.roots),
                );
            }
        }
    }

    /// Every record of the state (what a fresh store holds at genesis).
    pub fn write_all(&self, w: &mut dyn StateWriter) {
        let mut empty = AccountLedger::new(self.chain);
        empty.pool = self
            .pool
            .as_ref()
            .map(|p| ShieldedPool::new(p.keys.clone()));
        empty.governance = Governance::empty();
        self.write_changes(&empty, w);
    }

    /// Rebuilds a state for `chain` from its records. The caller compares
    /// the result's [`AccountLedger::state_hash`] with the committed one.
    pub fn load<R: StateReader>(
        reader: &R,
        chain: coalition_core::transaction::ChainId,
        keys: Option<Arc<ShieldedVerifyingKeys>>,
    ) -> Result<AccountLedger, R::Error> {
        let mut ledger = AccountLedger::new(chain);
        for (k, v) in reader.scan(Table::Accounts, &[])? {
            if k.len() != 40 {
                return Err(invalid("account key").into());
            }
            let owner = LoyaltyId(k[..32].try_into().map_err(|_| invalid("account key"))?);
            let currency = decode_exact::<CurrencyId>(&k[32..])?;
            ledger
                .accounts
                .insert((owner, currency), Arc::new(decode_account(&v)?));
        }
        let gov = |prefix: &[u8]| reader.scan(Table::Governance, prefix);
        for (k, v) in gov(b"c")? {
            let id = decode_exact::<CurrencyId>(&k[1..])?;
            ledger.currencies.insert(id, decode_policy(id, &v)?);
        }
        for (k, v) in gov(b"n")? {
            let id = decode_exact::<CurrencyId>(&k[1..])?;
            ledger.issuer_nonces.insert(id, u64_of(&v, "issuer nonce")?);
        }
        for (k, v) in gov(b"x")? {
            if k.len() != 17 {
                return Err(invalid("rate key").into());
            }
            let from = decode_exact::<CurrencyId>(&k[1..9])?;
            let to = decode_exact::<CurrencyId>(&k[9..])?;
            ledger.rates.insert((from, to), decode_exact(&v)?);
        }
        let threshold = match reader.get(Table::Governance, b"q")? {
            Some(v) if v.len() == 8 => Threshold::new(
                u32::from_le_bytes(v[..4].try_into().map_err(|_| invalid("threshold"))?),
                u32::from_le_bytes(v[4..].try_into().map_err(|_| invalid("threshold"))?),
            )
            .ok_or(invalid("threshold"))?,
            _ => return Err(invalid("threshold").into()),
        };
        let mut members = BTreeMap::new();
        for (k, v) in gov(b"m")? {
            let id = LoyaltyId(k[1..].try_into().map_err(|_| invalid("member key"))?);
            members.insert(id, decode_member(&v)?);
        }
        let mut proposals = BTreeMap::new();
        for (k, v) in gov(b"p")? {
            let id = coalition_core::transaction::TxId(
                k[1..].try_into().map_err(|_| invalid("proposal key"))?,
            );
            proposals.insert(id, decode_proposal(&v)?);
        }
        let mut infos = BTreeMap::new();
        for (k, v) in gov(b"i")? {
            infos.insert(decode_exact::<CurrencyId>(&k[1..])?, decode_info(&v)?);
        }
        let mut terms = BTreeMap::new();
        for (_, v) in gov(b"t")? {
            let signed: SignedTerms = decode_exact(&v)?;
            terms.insert(signed.terms.partner_set(), signed);
        }
        let mut retired = BTreeMap::new();
        for (k, v) in gov(b"r")? {
            let id = LoyaltyId(
                k[1..]
                    .try_into()
                    .map_err(|_| invalid("former member key"))?,
            );
            retired.insert(id, u64_of(&v, "governance nonce")?);
        }
        let mut terms_floor = BTreeMap::new();
        for (k, v) in gov(b"v")? {
            let (set, version) = decode_terms_floor(&v)?;
            if terms_key(b"v", &set) != k {
                return Err(invalid("terms floor key").into());
            }
            terms_floor.insert(set, version);
        }
        ledger.rebuild_digests();
        ledger.governance = Governance::from_parts(
            threshold,
            members,
            proposals,
            infos,
            terms,
            retired,
            terms_floor,
        );
        ledger.height = match reader.get(Table::Metadata, b"height")? {
            Some(v) => u64_of(&v, "height")?,
            None => return Err(invalid("height").into()),
        };
        if let Some(keys) = keys {
            let mut pool = ShieldedPool::new(keys);
            let notes = reader
                .scan(Table::NoteTree, b"n")?
                .iter()
                .map(|(_, v)| decode_exact::<NoteOutput>(v))
                .collect::<Result<Vec<_>, _>>()?;
            pool.tree = NoteTree::from_leaves(notes.iter().map(|n| n.commitment.0).collect())
                .map_err(|_| invalid("note tree"))?;
            for note in notes {
                pool.store_note(note);
            }
            let rhos = reader.scan(Table::NoteTree, b"r")?;
            pool.extend_rhos(
                rhos.iter()
                    .map(|(k, _)| decode_exact::<Rho>(&k[1..]))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            let nullifiers = reader.scan(Table::Nullifiers, &[])?;
            pool.extend_nullifiers(
                nullifiers
                    .iter()
                    .map(|(k, _)| decode_exact::<Nullifier>(k))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            let roots = reader
                .get(Table::Metadata, b"roots")?
                .ok_or(invalid("roots"))?;
            let mut r = Reader::new(&roots);
            let n = r.u32("root count")? as usize;
            if n == 0 || n > ROOT_WINDOW {
                return Err(invalid("root count").into());
            }
            let mut window = RecentRoots::new(ROOT_WINDOW);
            for _ in 0..n {
                let root = coalition_circuits::field::from_bytes(&r.array("root")?)
                    .map_err(|_| invalid("root"))?;
                window.push(root);
            }
            r.finish()?;
            pool.roots = window;
            ledger.pool = Some(pool);
        }
        Ok(ledger)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::ApplyMode;
    use coalition_circuits::encryption::EncryptedNote;
    use coalition_circuits::note::NoteCommitment;
    use coalition_core::keys::{IdentityKeys, Seed};
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// Thirty blocks over thousands of accounts and nullifiers and hundreds
    /// of notes, so the persistent maps, sets and tree levels split their
    /// nodes and share some of them between consecutive states: the records
    /// written block by block (diffs that skip shared nodes) are exactly
    /// what one full write of the final state gives, and the state rebuilt
    /// from them is equal, commitments included, to the one kept in memory.
    #[test]
    fn diffs_over_many_blocks_equal_one_full_write() {
        let keys = Arc::new(
            ShieldedVerifyingKeys::insecure_dev(&coalition_params::default_params_dir()).unwrap(),
        );
        let identity = *IdentityKeys::from_seed(&Seed::from_bytes([1; 32])).public();
        let currency = CurrencyId::new("PTS").unwrap();
        let chain = coalition_core::transaction::ChainId([5; 32]);
        let mut ledger = AccountLedger::with_shielded_pool(chain, keys.clone());
        ledger
            .register_currency(CurrencyPolicy {
                id: currency,
                issuer: identity,
                auditor: None,
            })
            .unwrap();
        let mut records = MemoryRecords::default();
        ledger.write_all(&mut records);
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let mut fresh = 1u64;
        let one = Ciphertext::zero().add_amount(1);
        for _ in 0..30 {
            let before = ledger.clone();
            ledger.height += 1;
            for _ in 0..150 {
                let mut owner = [0u8; 32];
                owner[..8].copy_from_slice(&(rng.next_u64() % 3000).to_le_bytes());
                ledger
                    .account_mut(LoyaltyId(owner), currency, identity)
                    .credit(&one)
                    .unwrap();
            }
            let pool = ledger.pool.as_mut().unwrap();
            for _ in 0..100 {
                pool.insert_nullifier(Nullifier(ark_bn254::Fr::from(fresh)));
                fresh += 1;
            }
            for _ in 0..10 {
                let note = NoteOutput {
                    commitment: NoteCommitment(ark_bn254::Fr::from(fresh)),
                    encrypted: EncryptedNote {
                        epk: [fresh as u8; 32],
                        ciphertext: [7; EncryptedNote::LEN - 32],
                    },
                };
                pool.append(&note, Rho(ark_bn254::Fr::from(fresh)), ApplyMode::Block)
                    .unwrap();
                fresh += 1;
            }
            let root = pool.tree.root();
            pool.roots.push(root);
            ledger.refresh_digests();
            ledger.write_changes(&before, &mut records);
        }
        assert!(ledger.accounts.len() > 2000);
        let mut full = MemoryRecords::default();
        ledger.write_all(&mut full);
        assert_eq!(full.len(), records.len());
        assert!(
            full.0 == records.0,
            "block-by-block records differ from a full write"
        );
        let loaded = AccountLedger::load(&records, chain, Some(keys)).unwrap();
        assert_eq!(loaded.commitments(), ledger.commitments());
        assert!(loaded == ledger, "the rebuilt state differs");
    }
}
