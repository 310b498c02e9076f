use contracts::Currency;
use http_kit::{
    ApiError, Body, DEFAULT_BODY_LIMIT, HttpContext, Request, Response, StatusCode, Validator,
    parse_json,
};
use lambda_http::http::{HeaderValue, header};
use payments::model::{DepositAmount, Description, IdempotencyKey};
use payments::service::{DepositCommand, deposit};
use payments::store::PaymentsStore;
use serde::Deserialize;
use serde_json::Value;

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Set on an answer replayed from the idempotency record.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Fields are taken as raw JSON so that every problem (a string amount, a
/// decimal, an unknown currency) is reported at once, with its own message,
/// instead of serde stopping at the first type error.
#[derive(Deserialize)]
struct DepositBody {
    amount: Option<Value>,
    currency: Option<Value>,
    description: Option<Value>,
}

fn present(value: Option<Value>) -> Option<Value> {
    value.filter(|v| !v.is_null())
}

fn whole_minor_units(value: Value) -> Result<i64, &'static str> {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(v) => Ok(v),
            None if n.is_u64() => Err("is far too large"),
            None => {
                Err("must be a whole number of minor units (e.g. 1050 for 10.50), not a decimal")
            }
        },
        Value::String(_) => Err("must be a JSON number of minor units, not a string"),
        _ => Err("must be a whole number of minor units"),
    }
}

fn currency_code(value: Value) -> Result<Currency, &'static str> {
    match value {
        Value::String(code) => code.parse(),
        _ => Err("must be an ISO 4217 currency code string such as \"USD\""),
    }
}

fn description(value: Option<Value>) -> Result<Description, &'static str> {
    match present(value) {
        None => Ok(Description::default()),
        Some(Value::String(text)) => Description::parse(&text),
        Some(_) => Err("must be a string"),
    }
}

pub async fn handle<S: PaymentsStore>(
    store: &S,
    req: Request,
    ctx: HttpContext,
) -> Result<Response<Body>, ApiError> {
    let user_id = ctx.caller()?.user_id;
    let body: DepositBody = parse_json(&req, DEFAULT_BODY_LIMIT)?;

    let mut v = Validator::new();
    let minor_units = v.parse("amount", present(body.amount), whole_minor_units);
    let currency = v.parse("currency", present(body.currency), currency_code);
    // Bounds are in major units of the requested currency; an invalid
    // currency is reported on its own, the amount is then checked as cents.
    let amount = minor_units.and_then(|units| {
        v.check(
            "amount",
            DepositAmount::new(units, currency.unwrap_or(Currency::USD)),
        )
    });
    let description = v.check("description", description(body.description));
    let key = v.parse(
        "Idempotency-Key",
        req.headers().get(IDEMPOTENCY_KEY_HEADER),
        |raw: &HeaderValue| {
            raw.to_str()
                .map_err(|_| "may only contain letters, digits, '_', '-', ':' and '.'")
                .and_then(IdempotencyKey::parse)
        },
    );
    let (amount, (currency, (description, key))) =
        v.finish(amount.zip(currency.zip(description.zip(key))))?;

    let receipt = deposit(
        store,
        DepositCommand {
            user_id,
            key,
            amount,
            currency,
            description,
        },
        ctx.correlation_id,
        time::OffsetDateTime::now_utc(),
    )
    .await?;

    // The body is sent exactly as stored, so a replay is byte-for-byte the
    // original answer.
    let mut response = Response::new(Body::from(receipt.body));
    *response.status_mut() = StatusCode::from_u16(receipt.status)
        .map_err(|e| anyhow::anyhow!("stored deposit status is invalid: {e}"))?;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if receipt.replayed {
        headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests;
