//! The charges port of the in-memory store, with the conditions of the
//! DynamoDB transactions evaluated together under one lock.

use std::collections::{HashMap, HashSet};

use contracts::events::PaymentKind;
use contracts::{OrderId, RawEnvelope};
use time::OffsetDateTime;

use super::{InMemoryPaymentsStore, State, round_trip};
use crate::charges::model::{Cancellation, ChargeRecord, ChargeStatus};
use crate::charges::store::{
    ChargeStoreError, ChargeStoreResult, ChargeWrite, ChargesStore, WalletChargeWrite,
    WalletRefundWrite,
};
use crate::keys::{ledger_sk, user_pk};
use crate::model::{Account, LedgerEntry};

#[derive(Default)]
pub(super) struct ChargesState {
    charges: HashMap<OrderId, ChargeRecord>,
    cancellations: HashMap<OrderId, Cancellation>,
    intents: HashMap<String, OrderId>,
    stripe_events: HashSet<String>,
}

impl InMemoryPaymentsStore {
    /// Every charge record, in no particular order.
    pub fn charge_records(&self) -> Vec<ChargeRecord> {
        self.state().charges.charges.values().cloned().collect()
    }
}

fn ledger_key(entry: &LedgerEntry) -> ChargeStoreResult<(String, String)> {
    Ok((
        user_pk(entry.user_id),
        ledger_sk(entry.created_at, &entry.id).map_err(anyhow::Error::from)?,
    ))
}

/// The account, ledger and outbox conditions shared by wallet debits and
/// credits: the account is still as read, the entry and event are new, and
/// the balance stays at or above zero.
fn wallet_write_applies(
    s: &State,
    read: &Account,
    entry: &LedgerEntry,
    key: &(String, String),
    event: &RawEnvelope,
) -> bool {
    let account_ok = s.accounts.get(&read.user_id).is_some_and(|a| {
        a.currency == read.currency && a.version == read.version && a.balance + entry.amount >= 0
    });
    account_ok && !s.ledger.contains_key(key) && !s.outbox.iter().any(|e| e.id == event.id)
}

fn apply_wallet_write(s: &mut State, entry: &LedgerEntry, key: (String, String)) {
    if let Some(account) = s.accounts.get_mut(&entry.user_id) {
        account.balance += entry.amount;
        account.version += 1;
        account.updated_at = entry.created_at;
    }
    s.ledger.insert(key, entry.clone());
}

fn remember_intent(s: &mut State, record: &ChargeRecord) {
    if record.method == PaymentKind::Card
        && let Some(intent) = &record.provider_reference
    {
        s.charges.intents.insert(intent.clone(), record.order_id);
    }
}

impl ChargesStore for InMemoryPaymentsStore {
    async fn charge(&self, order: OrderId) -> ChargeStoreResult<Option<ChargeRecord>> {
        round_trip().await;
        Ok(self.state().charges.charges.get(&order).cloned())
    }

    async fn cancellation(&self, order: OrderId) -> ChargeStoreResult<Option<Cancellation>> {
        round_trip().await;
        Ok(self.state().charges.cancellations.get(&order).cloned())
    }

    async fn order_of_stripe_intent(&self, intent_id: &str) -> ChargeStoreResult<Option<OrderId>> {
        round_trip().await;
        Ok(self.state().charges.intents.get(intent_id).copied())
    }

    async fn record_charge(
        &self,
        write: ChargeWrite<'_>,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        round_trip().await;
        let record = write.record;
        let mut s = self.state();
        if s.charges.charges.contains_key(&record.order_id) {
            return Err(ChargeStoreError::AlreadyRecorded);
        }
        if write.unless_cancelled && s.charges.cancellations.contains_key(&record.order_id) {
            return Err(ChargeStoreError::Cancelled);
        }
        s.charges.charges.insert(record.order_id, record.clone());
        remember_intent(&mut s, record);
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn record_wallet_charge(
        &self,
        write: WalletChargeWrite<'_>,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        round_trip().await;
        let key = ledger_key(write.entry)?;
        let order = write.record.order_id;
        let mut s = self.state();
        if s.charges.charges.contains_key(&order) {
            return Err(ChargeStoreError::AlreadyRecorded);
        }
        if s.charges.cancellations.contains_key(&order) {
            return Err(ChargeStoreError::Cancelled);
        }
        if !wallet_write_applies(&s, write.account, write.entry, &key, event) {
            return Err(ChargeStoreError::Stale);
        }
        apply_wallet_write(&mut s, write.entry, key);
        s.charges.charges.insert(order, write.record.clone());
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn record_wallet_refund(
        &self,
        write: WalletRefundWrite<'_>,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        round_trip().await;
        let key = ledger_key(write.entry)?;
        let order = write.record.order_id;
        let mut s = self.state();
        let refundable = s
            .charges
            .charges
            .get(&order)
            .is_some_and(|c| c.status == ChargeStatus::Succeeded);
        if !refundable {
            return Err(ChargeStoreError::NotRefundable);
        }
        if !wallet_write_applies(&s, write.account, write.entry, &key, event) {
            return Err(ChargeStoreError::Stale);
        }
        apply_wallet_write(&mut s, write.entry, key);
        s.charges.charges.insert(order, write.record.clone());
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn record_refund(
        &self,
        record: &ChargeRecord,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        match s.charges.charges.get_mut(&record.order_id) {
            Some(stored) if stored.status == ChargeStatus::Succeeded => {
                *stored = record.clone();
            }
            _ => return Err(ChargeStoreError::NotRefundable),
        }
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn record_cancellation(&self, cancellation: &Cancellation) -> ChargeStoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        if s.charges.charges.contains_key(&cancellation.order_id) {
            return Err(ChargeStoreError::AlreadyRecorded);
        }
        s.charges
            .cancellations
            .entry(cancellation.order_id)
            .or_insert_with(|| cancellation.clone());
        Ok(())
    }

    async fn stripe_event_seen(&self, event_id: &str) -> ChargeStoreResult<bool> {
        round_trip().await;
        Ok(self.state().charges.stripe_events.contains(event_id))
    }

    async fn remember_stripe_event(
        &self,
        event_id: &str,
        _event_type: &str,
        _now: OffsetDateTime,
    ) -> ChargeStoreResult<()> {
        round_trip().await;
        self.state()
            .charges
            .stripe_events
            .insert(event_id.to_owned());
        Ok(())
    }
}
