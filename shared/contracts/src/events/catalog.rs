//! Catalog events. Created and updated carry the whole product, so a read
//! model can be rebuilt from them alone; `version` orders them (a consumer
//! keeps the highest version it has seen and ignores older ones).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::envelope::DomainEvent;
use crate::{Currency, ProductId};

/// What a product is, as the catalog publishes it. Prices in minor units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductDetails {
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price: i64,
    pub currency: Currency,
    /// S3 keys of the product's images, in display order.
    pub images: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductCreated {
    pub product_id: ProductId,
    pub version: u64,
    pub product: ProductDetails,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl DomainEvent for ProductCreated {
    const TYPE: &'static str = "product.created";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "catalog";

    fn subject(&self) -> String {
        self.product_id.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdated {
    pub product_id: ProductId,
    pub version: u64,
    pub product: ProductDetails,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl DomainEvent for ProductUpdated {
    const TYPE: &'static str = "product.updated";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "catalog";

    fn subject(&self) -> String {
        self.product_id.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductDeleted {
    pub product_id: ProductId,
    pub version: u64,
    pub sku: String,
    #[serde(with = "time::serde::rfc3339")]
    pub deleted_at: OffsetDateTime,
}

impl DomainEvent for ProductDeleted {
    const TYPE: &'static str = "product.deleted";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "catalog";

    fn subject(&self) -> String {
        self.product_id.to_string()
    }
}
