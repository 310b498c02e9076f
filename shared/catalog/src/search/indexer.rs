//! Applies `product.created|updated|deleted` to the read model.
//!
//! Events may arrive twice, late or out of order (SNS and SQS promise
//! neither order nor single delivery), and two versions of one product may
//! be indexed at the same time. Three rules keep the index equal to the
//! newest version seen:
//! 1. the product's state item records the newest version claimed; an event
//!    whose version is not newer (or equal but already complete) has no
//!    effect;
//! 2. a claim is a compare-and-swap on the state read, and it names the
//!    partitions that held an earlier version (`stale_partitions`,
//!    accumulated across unfinished claims), so the winner knows every row
//!    a loser may have written;
//! 3. each row carries its version and is written only over an older one;
//!    partitions the product left get a tombstone of the new version
//!    instead of a delete, so a slower writer of an older version can
//!    never bring a row back.
//!
//! A run that fails half-way leaves its claim incomplete; the retried event
//! claims the same version again and rewrites the same rows.

use contracts::ProductId;
use contracts::events::ProductDetails;
use futures::StreamExt;
use time::{Duration, OffsetDateTime};

use crate::model::to_micros;
use crate::search::model::{
    ALL_PARTITION, IndexState, Listing, Row, SUMMARY_CHARS, category_partition, token_partition,
};
use crate::search::store::SearchStore;
use crate::search::tokens::IndexedText;

/// Tombstones outlive any writer of an older version (bounded by the
/// consumer's timeout) by far.
pub const TOMBSTONE_TTL: Duration = Duration::days(2);
/// Row writes in flight per event.
const WRITE_CONCURRENCY: usize = 16;
/// Claims lost to concurrent claims before giving up (the record is then
/// retried by SQS).
const MAX_CLAIMS: u32 = 5;

/// A product event, as the indexer needs it.
#[derive(Debug, Clone, Copy)]
pub enum ProductChange<'a> {
    Upsert {
        product_id: ProductId,
        version: u64,
        product: &'a ProductDetails,
        at: OffsetDateTime,
    },
    Delete {
        product_id: ProductId,
        version: u64,
    },
}

impl ProductChange<'_> {
    fn id_and_version(&self) -> (ProductId, u64) {
        match self {
            Self::Upsert {
                product_id,
                version,
                ..
            }
            | Self::Delete {
                product_id,
                version,
            } => (*product_id, *version),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexOutcome {
    Applied,
    /// The index already holds this version or a newer one.
    Superseded {
        stored_version: u64,
    },
}

fn listing(product_id: ProductId, version: u64, p: &ProductDetails, at: OffsetDateTime) -> Listing {
    let text = IndexedText::of(&p.name, &p.description);
    Listing {
        product_id,
        version,
        sku: p.sku.clone(),
        name: p.name.clone(),
        summary: p.description.chars().take(SUMMARY_CHARS).collect(),
        category: p.category.clone(),
        price: p.price,
        currency: p.currency,
        updated_at: to_micros(at),
        name_words: text.name_words,
        text_words: text.text_words,
    }
}

fn partitions_of(l: &Listing, terms: &[String]) -> Vec<String> {
    let mut out = vec![ALL_PARTITION.to_owned(), category_partition(&l.category)];
    out.extend(terms.iter().map(|t| token_partition(t)));
    out
}

/// Brings the index to `change`'s version unless it holds a newer one.
pub async fn apply_change<S: SearchStore>(
    store: &S,
    change: ProductChange<'_>,
    now: OffsetDateTime,
) -> anyhow::Result<IndexOutcome> {
    let (product_id, version) = change.id_and_version();
    let (listing, partitions) = match change {
        ProductChange::Upsert { product, at, .. } => {
            let l = listing(product_id, version, product, at);
            let terms = IndexedText::of(&product.name, &product.description).terms;
            let partitions = partitions_of(&l, &terms);
            (Some(l), partitions)
        }
        ProductChange::Delete { .. } => (None, Vec::new()),
    };

    for attempt in 1..=MAX_CLAIMS {
        let stored = store.state(product_id).await?;
        let earlier: Vec<String> = match &stored {
            Some(s) if s.version > version || (s.version == version && s.complete) => {
                tracing::info!(%product_id, version, stored_version = s.version, "index holds this version or a newer one; nothing to do");
                return Ok(IndexOutcome::Superseded {
                    stored_version: s.version,
                });
            }
            // Our own unfinished claim (a retry): same rows, same tombstones.
            Some(s) if s.version == version => s.stale_partitions.clone(),
            Some(s) if s.complete => s.partitions.clone(),
            // An unfinished older claim may have written any of these.
            Some(s) => s
                .partitions
                .iter()
                .chain(&s.stale_partitions)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let mut stale: Vec<String> = earlier
            .into_iter()
            .filter(|p| !partitions.contains(p))
            .collect();
        stale.sort();
        stale.dedup();
        let state = IndexState {
            product_id,
            version,
            deleted: listing.is_none(),
            complete: false,
            partitions: partitions.clone(),
            stale_partitions: stale,
        };
        let read = stored.as_ref().map(|s| (s.version, s.complete));
        if !store.claim(&state, read).await? {
            tracing::debug!(%product_id, version, attempt, "index state changed since read; reading again");
            continue;
        }
        write_rows(store, &state, listing.as_ref(), now).await?;
        store.complete(product_id, version).await?;
        tracing::info!(
            %product_id,
            version,
            deleted = state.deleted,
            rows = state.partitions.len(),
            tombstones = state.stale_partitions.len(),
            "product indexed"
        );
        return Ok(IndexOutcome::Applied);
    }
    anyhow::bail!("index state of {product_id} kept changing; giving up for now")
}

async fn write_rows<S: SearchStore>(
    store: &S,
    state: &IndexState,
    listing: Option<&Listing>,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let visible = Row {
        product_id: state.product_id,
        version: state.version,
        listing: listing.cloned(),
        expires_at: None,
    };
    let tombstone = Row {
        product_id: state.product_id,
        version: state.version,
        listing: None,
        expires_at: Some(now + TOMBSTONE_TTL),
    };
    let writes = state
        .partitions
        .iter()
        .map(|p| (p, &visible))
        .chain(state.stale_partitions.iter().map(|p| (p, &tombstone)));
    // Futures made up front: a stream of them (rather than a mapping
    // closure) keeps the whole run `Send` for the Lambda runtime.
    let pending: Vec<_> = writes
        .map(|(partition, row)| store.put_row(partition, row))
        .collect();
    let results: Vec<anyhow::Result<bool>> = futures::stream::iter(pending)
        .buffer_unordered(WRITE_CONCURRENCY)
        .collect()
        .await;
    // A `false` is a row a newer version holds already: expected, fine.
    results.into_iter().collect::<anyhow::Result<Vec<bool>>>()?;
    Ok(())
}
