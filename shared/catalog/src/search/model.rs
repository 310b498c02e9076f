use contracts::{Currency, ProductId};
use serde::Serialize;
use time::OffsetDateTime;

/// Partition of every visible product (browse without keyword or category).
pub const ALL_PARTITION: &str = "ALL";

pub fn category_partition(category: &str) -> String {
    format!("CAT#{category}")
}

pub fn token_partition(term: &str) -> String {
    format!("TOK#{term}")
}

/// `<price, 12 digits>#<product id>`: sorts by price, ties by id.
pub fn price_key(price: i64, id: ProductId) -> String {
    format!("{price:012}#{id}")
}

/// Length of a summary kept in the read model (the description's start).
pub const SUMMARY_CHARS: usize = 200;

/// What one listing row holds: enough to answer a search without reading
/// the catalog table, and the words to check the other keywords against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub product_id: ProductId,
    pub version: u64,
    pub sku: String,
    pub name: String,
    pub summary: String,
    pub category: String,
    pub price: i64,
    pub currency: Currency,
    pub updated_at: OffsetDateTime,
    pub name_words: Vec<String>,
    pub text_words: Vec<String>,
}

impl Listing {
    pub fn price_key(&self) -> String {
        price_key(self.price, self.product_id)
    }
}

/// One row of a partition: a visible listing or, for a product that left
/// the partition (changed words or category, or deleted), a tombstone that
/// still carries the version, so a slower writer of an older version
/// cannot bring the row back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub product_id: ProductId,
    pub version: u64,
    pub listing: Option<Listing>,
    /// Tombstones expire (TTL) long after any writer of their version ended.
    pub expires_at: Option<OffsetDateTime>,
}

/// Per product, what the index holds and up to which version: the guard
/// that makes the indexer ignore older and duplicate events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexState {
    pub product_id: ProductId,
    pub version: u64,
    pub deleted: bool,
    /// All rows of this version are written.
    pub complete: bool,
    /// Partitions holding the product at this version.
    pub partitions: Vec<String>,
    /// Partitions that held it at an earlier version and get tombstones.
    pub stale_partitions: Vec<String>,
}

/// Sort orders a partition can be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By product id, descending: ids are UUID v7, so this is creation time.
    NewestFirst,
    PriceAsc,
    PriceDesc,
}

/// Where a partition read continues: the last row read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKey {
    pub product_id: ProductId,
    /// Present for price orders.
    pub price_key: Option<String>,
}

/// One partition read. `price_range` narrows price orders in the key
/// condition (inclusive, minor units).
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub partition: String,
    pub order: Order,
    pub price_range: Option<(i64, i64)>,
    pub after: Option<RowKey>,
    pub limit: u32,
}

/// Visible rows of one read, in order, with the position after the last
/// row evaluated (`None` at the end of the partition) and how many rows
/// (tombstones included) the read cost.
#[derive(Debug, Clone, Default)]
pub struct RowPage {
    pub rows: Vec<Listing>,
    pub last: Option<RowKey>,
    pub scanned: usize,
}

/// A search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    /// The first 200 characters of the description.
    pub summary: String,
    pub category: String,
    pub price: i64,
    pub currency: Currency,
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Listing> for SearchHit {
    fn from(l: &Listing) -> Self {
        Self {
            id: l.product_id,
            sku: l.sku.clone(),
            name: l.name.clone(),
            summary: l.summary.clone(),
            category: l.category.clone(),
            price: l.price,
            currency: l.currency,
            version: l.version,
            updated_at: l.updated_at,
        }
    }
}

/// A page of search results and the opaque cursor for the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchPage {
    pub items: Vec<SearchHit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
