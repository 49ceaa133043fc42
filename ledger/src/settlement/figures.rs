//! All figures of some blocks: what the node's store keeps per
//! epoch and what an audit recomputes from the blocks alone.

use std::collections::BTreeMap;

use coalition_core::currency::CurrencyId;
use coalition_core::keys::LoyaltyId;
use coalition_core::transaction::Transaction;

use super::exchange::{ExchangeFigures, ExchangeKey};
use super::merchant::{self, PairFigures, PairKey};

/// The epoch of block `height` (≥ 1).
pub fn epoch_of(height: u64, epoch_blocks: u64) -> u64 {
    height.saturating_sub(1) / epoch_blocks.max(1)
}

/// What some blocks add to the settlement figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Merchant figures.
    pub pairs: BTreeMap<PairKey, PairFigures>,
    /// Exchange figures.
    pub exchanges: BTreeMap<ExchangeKey, ExchangeFigures>,
}

impl Figures {
    /// Adds the transactions of block `height`.
    pub fn add_block(&mut self, height: u64, epoch_blocks: u64, transactions: &[Transaction]) {
        let epoch = epoch_of(height, epoch_blocks);
        for tx in transactions {
            match tx {
                Transaction::Burn(t) => {
                    let f = self.pair(epoch, t.source.loyalty_id(), t.currency);
                    f.burns = f.burns.saturating_add(1);
                    merchant::accumulate(
                        &mut f.burned,
                        t.amount.ciphertext(0),
                        t.amount.ciphertext(1),
                        t.amount.ciphertext(2),
                    );
                }
                Transaction::Transfer(t) => {
                    let f = self.pair(epoch, t.destination.loyalty_id(), t.currency);
                    f.transfers = f.transfers.saturating_add(1);
                    merchant::accumulate(
                        &mut f.transferred,
                        t.amount.ciphertext(1),
                        None,
                        t.amount.ciphertext(2),
                    );
                }
                Transaction::Redeem(t) => {
                    let f = self.pair(epoch, t.merchant.loyalty_id(), t.currency);
                    f.redeems = f.redeems.saturating_add(1);
                    f.redeemed = f.redeemed.saturating_add(t.value);
                }
                Transaction::Exchange(t) => {
                    let key = ExchangeKey {
                        epoch,
                        from: t.from,
                        to: t.to,
                        rate: t.rate,
                    };
                    self.exchanges
                        .entry(key)
                        .or_default()
                        .add(&t.amount_from, &t.amount_to);
                }
                _ => {}
            }
        }
    }

    /// Adds `other` (later blocks).
    pub fn merge(&mut self, other: &Figures) {
        for (key, f) in &other.pairs {
            self.pairs.entry(*key).or_default().merge(f);
        }
        for (key, f) in &other.exchanges {
            self.exchanges.entry(*key).or_default().merge(f);
        }
    }

    fn pair(&mut self, epoch: u64, merchant: LoyaltyId, currency: CurrencyId) -> &mut PairFigures {
        self.pairs
            .entry(PairKey {
                epoch,
                merchant,
                currency,
            })
            .or_default()
    }
}

/// What one block adds to the settlement figures of its epoch.
pub fn block_figures(height: u64, epoch_blocks: u64, transactions: &[Transaction]) -> Figures {
    let mut figures = Figures::default();
    figures.add_block(height, epoch_blocks, transactions);
    figures
}
