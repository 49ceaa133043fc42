//! Events (spec §17.5): what a block changed, for wallets, merchants and
//! partners to follow without polling — credits to an account, redemptions
//! at a merchant, governance changes, and blocks. They carry only what the
//! ledger already makes public (identifiers, kinds, public values), never a
//! confidential amount.

use coalition_api::events::{CreditVia, Event, GovernanceChange, RedemptionVia};
use coalition_core::governance::MembershipAction;
use coalition_core::transaction::Transaction;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use coalition_ledger::block::Block;
use coalition_ledger::ledger::AccountLedger;

/// What a subscriber of `GET /v1/events` is sent for one item of its
/// broadcast stream, as (SSE event name, JSON data): an event it asked for
/// (all, or with `account` those that concern it), nothing for one it did
/// not, and `lagged` with the number of events it missed when it fell too
/// far behind, so it knows to re-read state through the API instead of
/// trusting a stream with a hole in it.
pub fn stream_item(
    item: Result<Event, BroadcastStreamRecvError>,
    account: Option<&str>,
) -> Option<(&'static str, String)> {
    match item {
        Ok(event) => {
            if account.is_some_and(|a| !event.concerns(a)) {
                return None;
            }
            let data = serde_json::to_string(&event).ok()?;
            Some((event.name(), data))
        }
        Err(BroadcastStreamRecvError::Lagged(missed)) => {
            let lagged = Event::Lagged { missed };
            Some((lagged.name(), serde_json::to_string(&lagged).ok()?))
        }
    }
}

/// The events of `block`, which took the state from `before` to `after`.
pub fn block_events(block: &Block, before: &AccountLedger, after: &AccountLedger) -> Vec<Event> {
    let height = block.header.height;
    let mut out = Vec::new();
    let members = after.governance().members();
    for tx in &block.transactions {
        let id = hex::encode(tx.id().0);
        let credit = |account: [u8; 32], currency: &str, via| Event::Credit {
            account: hex::encode(account),
            currency: currency.to_string(),
            via,
            tx: id.clone(),
            height,
        };
        match tx {
            Transaction::Issue(t) => out.push(credit(
                t.recipient.loyalty_id().0,
                t.currency.symbol(),
                CreditVia::Issue,
            )),
            Transaction::Transfer(t) => {
                let dest = t.destination.loyalty_id();
                out.push(credit(dest.0, t.currency.symbol(), CreditVia::Transfer));
                if members.contains_key(&dest) {
                    out.push(Event::Redemption {
                        merchant: hex::encode(dest.0),
                        currency: t.currency.symbol().to_string(),
                        via: RedemptionVia::Transfer,
                        value: None,
                        tx: id.clone(),
                        height,
                    });
                }
            }
            Transaction::Exchange(t) => out.push(credit(
                t.owner.loyalty_id().0,
                t.to.symbol(),
                CreditVia::Exchange,
            )),
            Transaction::Redeem(t) => {
                let merchant = t.merchant.loyalty_id();
                out.push(credit(merchant.0, t.currency.symbol(), CreditVia::Redeem));
                out.push(Event::Redemption {
                    merchant: hex::encode(merchant.0),
                    currency: t.currency.symbol().to_string(),
                    via: RedemptionVia::Redeem,
                    value: Some(t.value),
                    tx: id.clone(),
                    height,
                });
            }
            Transaction::ProposeMember(t) => out.push(Event::Governance {
                change: GovernanceChange::Proposed,
                subject: match &t.action {
                    MembershipAction::Admit { candidate, .. } => {
                        hex::encode(candidate.loyalty_id().0)
                    }
                    MembershipAction::Remove { member } => hex::encode(member.0),
                },
                height,
            }),
            Transaction::Vote(t) => out.push(Event::Governance {
                change: GovernanceChange::Voted,
                subject: hex::encode(t.proposal.0),
                height,
            }),
            Transaction::RegisterCurrency(t) => out.push(Event::Governance {
                change: GovernanceChange::CurrencyRegistered,
                subject: t.currency.symbol().to_string(),
                height,
            }),
            Transaction::Terms(signed) => out.push(Event::Governance {
                change: GovernanceChange::TermsAdopted,
                subject: signed
                    .terms
                    .partner_set()
                    .iter()
                    .map(|id| hex::encode(id.0))
                    .collect::<Vec<_>>()
                    .join(","),
                height,
            }),
            Transaction::ApplyPending(_) | Transaction::Burn(_) | Transaction::Shield(_) => {}
        }
    }
    let old = before.governance().members();
    for id in members.keys().filter(|id| !old.contains_key(id)) {
        out.push(Event::Governance {
            change: GovernanceChange::Admitted,
            subject: hex::encode(id.0),
            height,
        });
    }
    for id in old.keys().filter(|id| !members.contains_key(id)) {
        out.push(Event::Governance {
            change: GovernanceChange::Removed,
            subject: hex::encode(id.0),
            height,
        });
    }
    out.push(Event::Block {
        height,
        hash: hex::encode(block.header.hash().0),
        transactions: block.transactions.len() as u64,
        state_hash: hex::encode(block.header.state_hash),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::wrappers::BroadcastStream;
    use tokio_stream::StreamExt;

    fn credit(account: &str, height: u64) -> Event {
        Event::Credit {
            account: account.into(),
            currency: "MILES".into(),
            via: CreditVia::Issue,
            tx: "00".into(),
            height,
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_how_much_it_missed() {
        let (tx, rx) = tokio::sync::broadcast::channel(2);
        let mut stream = BroadcastStream::new(rx);
        for height in 0..5 {
            tx.send(credit("aa", height)).unwrap();
        }
        // Capacity 2: events 0-2 are gone, 3 and 4 remain.
        let first = stream.next().await.unwrap();
        let (name, data) = stream_item(first, None).unwrap();
        assert_eq!(name, "lagged");
        let data: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(data["missed"], 3);
        let next = stream_item(stream.next().await.unwrap(), None).unwrap();
        assert_eq!(next.0, "credit");
        assert!(next.1.contains("\"height\":3"), "{}", next.1);
    }

    #[test]
    fn an_account_filter_passes_only_its_events_and_blocks() {
        assert!(stream_item(Ok(credit("aa", 1)), Some("bb")).is_none());
        assert_eq!(
            stream_item(Ok(credit("aa", 1)), Some("aa")).unwrap().0,
            "credit"
        );
        let block = Event::Block {
            height: 1,
            hash: "00".into(),
            transactions: 0,
            state_hash: "00".into(),
        };
        assert_eq!(stream_item(Ok(block), Some("bb")).unwrap().0, "block");
        // A lag is news to every subscriber, filtered or not.
        assert_eq!(
            stream_item(Err(BroadcastStreamRecvError::Lagged(1)), Some("bb"))
                .unwrap()
                .0,
            "lagged"
        );
    }
}
