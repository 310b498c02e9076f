//! Small helpers over DynamoDB items, so that adapters read attributes with a
//! typed error instead of `unwrap()` and recognise failed conditions.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

pub type Item = HashMap<String, AttributeValue>;

/// A stored item that does not have the shape the adapter wrote: a bug or a
/// manual edit, never the caller's fault.
#[derive(Debug, thiserror::Error)]
#[error("stored item is malformed: attribute {attribute} {problem}")]
pub struct MalformedItem {
    pub attribute: String,
    pub problem: &'static str,
}

fn malformed(attribute: &str, problem: &'static str) -> MalformedItem {
    MalformedItem {
        attribute: attribute.to_owned(),
        problem,
    }
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, MalformedItem> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(malformed(name, "is not a string")),
        None => Err(malformed(name, "is missing")),
    }
}

pub fn get_opt_s<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, MalformedItem> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        Some(AttributeValue::Null(_)) | None => Ok(None),
        Some(_) => Err(malformed(name, "is not a string")),
    }
}

pub fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, MalformedItem> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| malformed(name, "is out of range")),
        Some(_) => Err(malformed(name, "is not a number")),
        None => Err(malformed(name, "is missing")),
    }
}

pub fn get_ss(item: &Item, name: &str) -> Result<Vec<String>, MalformedItem> {
    match item.get(name) {
        Some(AttributeValue::Ss(v)) => Ok(v.clone()),
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::S(s) => Ok(s.clone()),
                _ => Err(malformed(name, "holds a non-string")),
            })
            .collect(),
        Some(_) => Err(malformed(name, "is not a string set")),
        None => Ok(Vec::new()),
    }
}

/// True when a write was rejected by its condition expression: the storage
/// layer's way of saying "conflict", which callers turn into a domain answer.
pub trait ConditionFailed {
    fn is_condition_failed(&self) -> bool;
}

impl<R> ConditionFailed for SdkError<PutItemError, R> {
    fn is_condition_failed(&self) -> bool {
        self.as_service_error()
            .is_some_and(PutItemError::is_conditional_check_failed_exception)
    }
}

impl<R> ConditionFailed for SdkError<UpdateItemError, R> {
    fn is_condition_failed(&self) -> bool {
        self.as_service_error()
            .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
    }
}

impl<R> ConditionFailed for SdkError<TransactWriteItemsError, R> {
    fn is_condition_failed(&self) -> bool {
        cancelled_conditions(self).is_some_and(|codes| codes.iter().any(|c| c.is_some()))
    }
}

/// For a cancelled transaction: per action, `Some(code)` when that action's
/// condition failed. Lets a caller tell *which* uniqueness constraint fired.
pub fn cancelled_conditions<R>(
    err: &SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<Option<String>>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| {
                    r.code()
                        .filter(|c| *c == "ConditionalCheckFailed")
                        .map(str::to_owned)
                })
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_getters_report_shape_problems() {
        let item: Item = [
            ("name".to_owned(), s("ada")),
            ("count".to_owned(), n(3)),
            ("big".to_owned(), AttributeValue::N("1e400".into())),
        ]
        .into_iter()
        .collect();
        assert_eq!(get_s(&item, "name").ok(), Some("ada"));
        assert!(get_s(&item, "count").is_err());
        assert!(get_s(&item, "nope").is_err());
        assert_eq!(get_n::<u32>(&item, "count").ok(), Some(3));
        assert!(get_n::<u32>(&item, "big").is_err());
        assert_eq!(get_opt_s(&item, "nope").ok(), Some(None));
        assert_eq!(get_ss(&item, "nope").ok(), Some(vec![]));
    }
}
