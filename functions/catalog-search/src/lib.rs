//! `GET /products` (public): keyword search and browsing, answered from
//! the search read model only.
//!
//! Query parameters: `q` (keywords, all must match; accents and case
//! ignored; 3+ letters also match as a prefix), `category` (slug),
//! `min_price` / `max_price` (minor units, inclusive), `currency`, `sort`
//! (`relevance`, the default with `q`; `newest`, the default without;
//! `price_asc`; `price_desc`), `limit` (1-100, default 20), `cursor`.

use catalog::model::{Category, MAX_PRICE};
use catalog::search::store::SearchStore;
use catalog::search::tokens::query_tokens;
use catalog::search::{SearchQuery, Sort, search};
use contracts::Currency;
use http_kit::{
    ApiError, Body, HttpContext, Request, Response, StatusCode, Validator, json, query_param,
};

fn price(raw: String) -> Result<i64, String> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|p| (0..=MAX_PRICE).contains(p))
        .ok_or_else(|| format!("must be a whole number of minor units from 0 to {MAX_PRICE}"))
}

fn limit(raw: String) -> Result<u32, &'static str> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|l| (1..=100).contains(l))
        .ok_or("must be an integer from 1 to 100")
}

/// Parses the query string, reporting every bad parameter at once.
pub fn parse_query(req: &Request) -> Result<(SearchQuery, Option<String>), ApiError> {
    let mut v = Validator::new();
    let keywords = match query_param(req, "q") {
        None => Some(Vec::new()),
        Some(q) => v.check("q", query_tokens(&q)),
    };
    // Outer None: absent; inner None: present but invalid (error recorded).
    let price_param =
        |v: &mut Validator, name: &str| query_param(req, name).map(|raw| v.check(name, price(raw)));
    let category = match query_param(req, "category") {
        None => Some(None),
        Some(raw) => v.check("category", Category::parse(&raw)).map(Some),
    };
    let min_price = price_param(&mut v, "min_price");
    let max_price = price_param(&mut v, "max_price");
    if let (Some(Some(min)), Some(Some(max))) = (min_price, max_price)
        && min > max
    {
        v.reject("max_price", "must not be less than min_price");
    }
    let currency = match query_param(req, "currency") {
        None => Some(None),
        Some(raw) => v.check("currency", raw.parse::<Currency>()).map(Some),
    };
    let has_keywords = query_param(req, "q").is_some();
    let sort = match query_param(req, "sort") {
        None if has_keywords => Some(Sort::Relevance),
        None => Some(Sort::Newest),
        Some(raw) => match Sort::parse(&raw) {
            Ok(Sort::Relevance) if !has_keywords => {
                v.reject("sort", "relevance needs keywords in q");
                None
            }
            other => v.check("sort", other),
        },
    };
    let limit = match query_param(req, "limit") {
        None => Some(20),
        Some(raw) => v.check("limit", limit(raw)),
    };
    let cursor = query_param(req, "cursor");
    let query = keywords
        .zip(category)
        .zip(sort)
        .zip(limit)
        .zip(currency)
        .map(
            |((((keywords, category), sort), limit), currency)| SearchQuery {
                keywords,
                category,
                min_price: min_price.flatten(),
                max_price: max_price.flatten(),
                currency,
                sort,
                limit,
            },
        );
    // A price that failed to parse left its error in `v`.
    v.finish(query).map(|q| (q, cursor))
}

pub async fn handle<S: SearchStore>(
    store: &S,
    req: Request,
    _ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let (query, cursor) = parse_query(&req)?;
    json(
        StatusCode::OK,
        &search(store, &query, cursor.as_deref()).await?,
    )
}

#[cfg(test)]
mod tests;
