use contracts::Role;
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    json, parse_json, path_param,
};
use inventory::model::{AvailableChange, MAX_UNITS, Sku, StockChange};
use inventory::stock::change_stock;
use inventory::store::InventoryStore;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Fields are taken as raw JSON so that every problem (a negative count, a
/// decimal, a string, an unknown field) is reported at once with its own
/// message, instead of serde stopping at the first.
#[derive(Deserialize)]
struct ChangeBody {
    available: Option<Value>,
    add: Option<Value>,
    threshold: Option<Value>,
    #[serde(flatten)]
    unknown: Map<String, Value>,
}

fn present(value: Option<Value>) -> Option<Value> {
    value.filter(|v| !v.is_null())
}

/// A whole number in `min..=MAX_UNITS`.
fn whole(value: Value, min: i64) -> Result<i64, String> {
    let number = match value {
        Value::Number(n) => n,
        Value::String(_) => return Err("must be a JSON number, not a string".into()),
        _ => return Err("must be a whole number".into()),
    };
    let Some(v) = number.as_i64() else {
        return Err(if number.is_u64() {
            format!("must be at most {MAX_UNITS}")
        } else {
            "must be a whole number, not a decimal".into()
        });
    };
    if v < min {
        return Err(if min == 0 {
            "must not be negative".into()
        } else {
            format!("must be at least {min}")
        });
    }
    if v > i64::from(MAX_UNITS) {
        return Err(format!("must be at most {MAX_UNITS}"));
    }
    Ok(v)
}

fn units(value: Value) -> Result<u32, String> {
    whole(value, 0).and_then(|v| u32::try_from(v).map_err(|e| e.to_string()))
}

fn delta(value: Value) -> Result<i64, String> {
    whole(value, -i64::from(MAX_UNITS))
}

/// `PUT /inventory/{sku}` (admin). Body: any of `available` (the counted
/// stock, absolute), `add` (a restock, or a write-off when negative; the
/// result never goes below zero) and `threshold` (the low-stock level);
/// `available` and `add` exclude each other. Answers the updated stock.
pub async fn handle<S: InventoryStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    ctx.caller()?.require(Role::Admin)?;
    let sku: Sku = path_param(&req, "sku")?;
    let body: ChangeBody = parse_json(&req, DEFAULT_BODY_LIMIT)?;

    let mut v = Validator::new();
    for field in body.unknown.keys() {
        v.reject(
            field,
            "is not a known field (expected available, add or threshold)",
        );
    }
    // Outer option: the field was given; inner: it was valid (an invalid
    // one has recorded its error, so `finish` below refuses the request).
    let available = present(body.available).map(|raw| v.check("available", units(raw)));
    let add = present(body.add).map(|raw| v.check("add", delta(raw)));
    let threshold = present(body.threshold).map(|raw| v.check("threshold", units(raw)));
    if available.is_some() && add.is_some() {
        v.reject(
            "add",
            "cannot be combined with available: give the new total or a change, not both",
        );
    }
    if available.is_none() && add.is_none() && threshold.is_none() {
        v.reject(
            "body",
            "must contain at least one of available, add or threshold",
        );
    }
    v.finish(Some(()))?;

    let change = StockChange {
        available: match (available.flatten(), add.flatten()) {
            (Some(units), _) => Some(AvailableChange::Set(units)),
            (None, Some(delta)) => Some(AvailableChange::Add(delta)),
            (None, None) => None,
        },
        threshold: threshold.flatten(),
    };
    let view = change_stock(
        store,
        &sku,
        change,
        ctx.correlation_id,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    json(StatusCode::OK, &view)
}

#[cfg(test)]
mod tests;
