//! In-memory [`PaymentsStore`] with the conditions of the DynamoDB one, for
//! unit tests of the use cases and handlers (including concurrent ones).

mod charges;
mod stripe;

pub use stripe::InMemoryStripe;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use contracts::{RawEnvelope, UserId};
use time::OffsetDateTime;

use crate::cursor;
use crate::keys::{LEDGER_PREFIX, deposit_idempotency_pk, ledger_sk, user_pk};
use crate::model::{Account, IdempotencyKey, IdempotencyRecord, LedgerEntry, Page};
use crate::store::{DepositWrite, PaymentsStore, StoreError, StoreResult};

#[derive(Default)]
struct State {
    accounts: HashMap<UserId, Account>,
    /// By (pk, sk), exactly as the table orders them.
    ledger: BTreeMap<(String, String), LedgerEntry>,
    idempotency: HashMap<String, IdempotencyRecord>,
    outbox: Vec<RawEnvelope>,
    charges: charges::ChargesState,
}

/// Clones share one state, like handles on one table.
#[derive(Default, Clone)]
pub struct InMemoryPaymentsStore {
    state: Arc<Mutex<State>>,
}

/// Every call yields once before touching the state, as a network round trip
/// would: concurrent tasks then interleave between a read and the write that
/// depends on it, which is what the write conditions exist for.
async fn round_trip() {
    tokio::task::yield_now().await;
}

impl InMemoryPaymentsStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Events recorded for publication, in order.
    pub fn outbox(&self) -> Vec<RawEnvelope> {
        self.state().outbox.clone()
    }

    /// A user's ledger, oldest first.
    pub fn ledger_entries(&self, user_id: UserId) -> Vec<LedgerEntry> {
        let pk = user_pk(user_id);
        self.state()
            .ledger
            .iter()
            .filter(|((p, _), _)| *p == pk)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Number of accounts held, across users.
    pub fn account_count(&self) -> usize {
        self.state().accounts.len()
    }
}

impl PaymentsStore for InMemoryPaymentsStore {
    async fn create_account(
        &self,
        account: &Account,
        event: &RawEnvelope,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let mut s = self.state();
        if s.accounts.contains_key(&account.user_id) {
            return Err(StoreError::AccountExists);
        }
        s.accounts.insert(account.user_id, account.clone());
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn account(&self, user_id: UserId) -> StoreResult<Option<Account>> {
        round_trip().await;
        Ok(self.state().accounts.get(&user_id).cloned())
    }

    async fn record_deposit(
        &self,
        deposit: DepositWrite<'_>,
        event: &RawEnvelope,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        round_trip().await;
        let DepositWrite {
            account: read,
            entry,
            idempotency,
        } = deposit;
        let ledger_key = (
            user_pk(entry.user_id),
            ledger_sk(entry.created_at, &entry.id).map_err(anyhow::Error::from)?,
        );
        let key_pk = deposit_idempotency_pk(idempotency.user_id, &idempotency.key);

        let mut s = self.state();
        // The conditions of the DynamoDB transaction, evaluated together.
        let key_taken = s.idempotency.get(&key_pk).is_some_and(|r| r.is_live(now));
        let account_unchanged = s
            .accounts
            .get(&read.user_id)
            .is_some_and(|a| a.currency == read.currency && a.version == read.version);
        let ledger_free = !s.ledger.contains_key(&ledger_key);
        let event_new = !s.outbox.iter().any(|e| e.id == event.id);
        if key_taken {
            return Err(StoreError::KeyTaken);
        }
        if !(account_unchanged && ledger_free && event_new) {
            return Err(StoreError::Stale);
        }

        let Some(account) = s.accounts.get_mut(&read.user_id) else {
            return Err(StoreError::Stale);
        };
        account.balance += entry.amount;
        account.version += 1;
        account.updated_at = entry.created_at;
        s.ledger.insert(ledger_key, entry.clone());
        s.idempotency.insert(key_pk, idempotency.clone());
        s.outbox.push(event.clone());
        Ok(())
    }

    async fn idempotency_record(
        &self,
        user_id: UserId,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        round_trip().await;
        Ok(self
            .state()
            .idempotency
            .get(&deposit_idempotency_pk(user_id, key))
            .cloned())
    }

    async fn ledger(
        &self,
        user_id: UserId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<LedgerEntry>> {
        round_trip().await;
        let pk = user_pk(user_id);
        let before = cursor
            .map(|c| cursor::decode(c, &pk, LEDGER_PREFIX))
            .transpose()
            .map_err(|_| StoreError::BadCursor)?;
        let s = self.state();
        let mut newest_first: Vec<(&String, &LedgerEntry)> = s
            .ledger
            .range((pk.clone(), String::new())..)
            .take_while(|((p, _), _)| *p == pk)
            .filter(|((_, sk), _)| {
                sk.starts_with(LEDGER_PREFIX) && before.as_ref().is_none_or(|b| sk < b)
            })
            .map(|((_, sk), e)| (sk, e))
            .collect();
        newest_first.reverse();
        newest_first.truncate(limit as usize);
        // Like DynamoDB: a full page carries a cursor even if nothing follows.
        let next_cursor = (newest_first.len() == limit as usize)
            .then(|| newest_first.last().map(|(sk, _)| cursor::encode(&pk, sk)))
            .flatten();
        Ok(Page {
            items: newest_first.into_iter().map(|(_, e)| e.clone()).collect(),
            next_cursor,
        })
    }
}
