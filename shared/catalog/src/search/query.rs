//! `GET /products`: answered from the read model only.
//!
//! A query reads ONE partition and filters the rest in memory:
//! - with keywords, the postings of the longest keyword (`TOK#<term>`; the
//!   longest is usually the rarest), checking the other keywords against
//!   each row's words;
//! - without keywords, the category's partition (`CAT#<slug>`) or `ALL`.
//!
//! Newest-first reads the base table backwards (row sort key = product id,
//! a time-ordered UUID v7); price orders read the `by_price` index, with a
//! price range as its key condition. Both paginate with DynamoDB's own
//! positions (the cursor is the last row returned), so pages are exact and
//! cheap however deep a client goes. Relevance ranks whole result sets, so
//! it reads up to [`MAX_CANDIDATES`] postings (newest first), ranks them and
//! pages with an offset.
//!
//! Scale limits (documented, not hidden):
//! - one request reads at most [`SCAN_BUDGET`] rows; when filters reject
//!   most of them, a page may hold fewer than `limit` items while
//!   `next_cursor` is still given (keep following it);
//! - relevance ranks the newest [`MAX_CANDIDATES`] postings of the lookup
//!   keyword: for a keyword shared by more products, older ones are not
//!   ranked (add a keyword or a category to narrow it);
//! - `ALL`, each category and each very common term are single partition
//!   keys: about 3000 reads/s and 1000 writes/s each before DynamoDB
//!   throttles them. Past a few hundred thousand products, shard `ALL`
//!   (`ALL#<n>`) and merge, or move search to OpenSearch fed by the same
//!   events.

use contracts::Currency;

use crate::error::CatalogError;
use crate::model::{Category, MAX_PRICE};
use crate::search::cursor::{self, Position};
use crate::search::model::{
    ALL_PARTITION, Listing, Order, PageRequest, RowKey, SearchHit, SearchPage, category_partition,
    token_partition,
};
use crate::search::store::SearchStore;
use crate::search::tokens::matches;

/// Rows one request may read, tombstones and filtered-out rows included.
pub const SCAN_BUDGET: usize = 1000;
/// Postings ranked by relevance, at most.
pub const MAX_CANDIDATES: usize = 1000;
const READ_PAGE: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

impl Sort {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw {
            "relevance" => Ok(Self::Relevance),
            "price_asc" => Ok(Self::PriceAsc),
            "price_desc" => Ok(Self::PriceDesc),
            "newest" => Ok(Self::Newest),
            _ => Err("must be one of relevance, price_asc, price_desc, newest"),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Relevance => "relevance",
            Self::PriceAsc => "price_asc",
            Self::PriceDesc => "price_desc",
            Self::Newest => "newest",
        }
    }

    fn order(&self) -> Order {
        match self {
            Self::PriceAsc => Order::PriceAsc,
            Self::PriceDesc => Order::PriceDesc,
            Self::Relevance | Self::Newest => Order::NewestFirst,
        }
    }
}

/// A validated search. `sort` is `Relevance` only with keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Folded query tokens; every one must match a word of the product.
    pub keywords: Vec<String>,
    pub category: Option<Category>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub currency: Option<Currency>,
    pub sort: Sort,
    pub limit: u32,
}

impl SearchQuery {
    /// The partition this query reads.
    fn partition(&self) -> String {
        let lookup = self
            .keywords
            .iter()
            .fold(None::<&String>, |best, k| match best {
                Some(b) if b.chars().count() >= k.chars().count() => Some(b),
                _ => Some(k),
            });
        match (lookup, &self.category) {
            (Some(token), _) => token_partition(token),
            (None, Some(category)) => category_partition(category.as_str()),
            (None, None) => ALL_PARTITION.to_owned(),
        }
    }

    fn keeps(&self, l: &Listing) -> bool {
        let words_match = self.keywords.iter().all(|k| {
            l.name_words
                .iter()
                .chain(&l.text_words)
                .any(|w| matches(k, w))
        });
        words_match
            && self
                .category
                .as_ref()
                .is_none_or(|c| c.as_str() == l.category)
            && self.min_price.is_none_or(|min| l.price >= min)
            && self.max_price.is_none_or(|max| l.price <= max)
            && self.currency.is_none_or(|c| c == l.currency)
    }

    /// Rank of a listing: per keyword, its best match (whole word in the
    /// name 8, prefix in the name 4, whole word in the description 2, prefix
    /// there 1), summed.
    fn score(&self, l: &Listing) -> u32 {
        self.keywords
            .iter()
            .map(|k| {
                let best = |words: &[String], exact: u32, prefix: u32| {
                    words
                        .iter()
                        .map(|w| {
                            if w == k {
                                exact
                            } else if matches(k, w) {
                                prefix
                            } else {
                                0
                            }
                        })
                        .max()
                        .unwrap_or(0)
                };
                best(&l.name_words, 8, 4).max(best(&l.text_words, 2, 1))
            })
            .sum()
    }
}

/// Runs a search; `cursor` is what the previous page returned.
pub async fn search<S: SearchStore>(
    store: &S,
    query: &SearchQuery,
    cursor: Option<&str>,
) -> Result<SearchPage, CatalogError> {
    if let (Some(min), Some(max)) = (query.min_price, query.max_price)
        && min > max
    {
        return Ok(SearchPage {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let partition = query.partition();
    let sort = match query.sort {
        Sort::Relevance if query.keywords.is_empty() => Sort::Newest,
        s => s,
    };
    let price_order = matches!(sort, Sort::PriceAsc | Sort::PriceDesc);
    let position = cursor
        .map(|c| cursor::decode(c, &partition, sort.as_str(), price_order))
        .transpose()
        .map_err(|_| CatalogError::BadCursor)?;
    match sort {
        Sort::Relevance => {
            let offset = match position {
                None => 0,
                Some(Position::Offset(n)) => n as usize,
                Some(Position::After(_)) => return Err(CatalogError::BadCursor),
            };
            ranked(store, query, &partition, offset).await
        }
        _ => {
            let after = match position {
                None => None,
                Some(Position::After(key)) => Some(key),
                Some(Position::Offset(_)) => return Err(CatalogError::BadCursor),
            };
            ordered(store, query, sort, &partition, after).await
        }
    }
}

/// Reads the partition in `sort` order, keeping matching rows until the
/// page is full or the scan budget is spent.
async fn ordered<S: SearchStore>(
    store: &S,
    query: &SearchQuery,
    sort: Sort,
    partition: &str,
    mut after: Option<RowKey>,
) -> Result<SearchPage, CatalogError> {
    let order = sort.order();
    let price_range = (matches!(order, Order::PriceAsc | Order::PriceDesc)
        && (query.min_price.is_some() || query.max_price.is_some()))
    .then(|| {
        (
            query.min_price.unwrap_or(0),
            query.max_price.unwrap_or(MAX_PRICE),
        )
    });
    let limit = query.limit as usize;
    let key_of = |l: &Listing| RowKey {
        product_id: l.product_id,
        price_key: (order != Order::NewestFirst).then(|| l.price_key()),
    };
    let mut items: Vec<SearchHit> = Vec::new();
    let mut scanned = 0;
    let next = loop {
        let budget = SCAN_BUDGET.saturating_sub(scanned);
        if budget == 0 {
            break after;
        }
        let page = store
            .page(&PageRequest {
                partition: partition.to_owned(),
                order,
                price_range,
                after: after.clone(),
                limit: u32::try_from(budget.min(READ_PAGE)).unwrap_or(200),
            })
            .await?;
        scanned += page.scanned.max(1);
        let count = page.rows.len();
        let mut full_at = None;
        for (i, listing) in page.rows.iter().enumerate() {
            if query.keeps(listing) {
                items.push(SearchHit::from(listing));
                if items.len() == limit {
                    full_at = Some((i, key_of(listing)));
                    break;
                }
            }
        }
        match (full_at, page.last) {
            // Full on the partition's very last row: nothing follows.
            (Some((i, _)), None) if i + 1 == count => break None,
            (Some((_, key)), _) => break Some(key),
            (None, None) => break None,
            (None, Some(last)) => after = Some(last),
        }
    };
    Ok(SearchPage {
        items,
        next_cursor: next
            .map(|key| cursor::encode(partition, sort.as_str(), &Position::After(key))),
    })
}

/// Ranks up to [`MAX_CANDIDATES`] matching postings and returns one slice.
async fn ranked<S: SearchStore>(
    store: &S,
    query: &SearchQuery,
    partition: &str,
    offset: usize,
) -> Result<SearchPage, CatalogError> {
    let mut candidates: Vec<Listing> = Vec::new();
    let mut after = None;
    let mut scanned = 0;
    while scanned < MAX_CANDIDATES {
        let page = store
            .page(&PageRequest {
                partition: partition.to_owned(),
                order: Order::NewestFirst,
                price_range: None,
                after,
                limit: u32::try_from((MAX_CANDIDATES - scanned).min(READ_PAGE)).unwrap_or(200),
            })
            .await?;
        scanned += page.scanned.max(1);
        candidates.extend(page.rows.into_iter().filter(|l| query.keeps(l)));
        match page.last {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    let mut scored: Vec<(u32, Listing)> = candidates
        .into_iter()
        .map(|l| (query.score(&l), l))
        .collect();
    // Stable: equal scores stay newest first.
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    let limit = query.limit as usize;
    let items: Vec<SearchHit> = scored
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(_, l)| SearchHit::from(l))
        .collect();
    let end = offset + items.len();
    let next_cursor = (end < scored.len()).then(|| {
        cursor::encode(
            partition,
            Sort::Relevance.as_str(),
            &Position::Offset(u32::try_from(end).unwrap_or(u32::MAX)),
        )
    });
    Ok(SearchPage { items, next_cursor })
}
