//! Item keys of the catalog table, shared by both adapters.

use contracts::ProductId;

use crate::model::Sku;

pub const PRODUCT_SK: &str = "PRODUCT";
pub const SKU_SK: &str = "SKU";

pub fn product_pk(id: ProductId) -> String {
    format!("PRODUCT#{id}")
}

/// The SKU claim: one item per SKU in use, naming its product. Creating it
/// with `attribute_not_exists` in the product's transaction is what makes
/// SKUs unique.
pub fn sku_pk(sku: &Sku) -> String {
    format!("SKU#{sku}")
}
