use crate::error::OrdersError;
use crate::model::ProjectedProduct;
use crate::store::OrdersStore;

/// What a catalog event did to the price projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionOutcome {
    Stored,
    /// The projection already holds this version of the product or a newer
    /// one (a duplicate, or an event that arrived after a later one).
    Outdated,
}

/// Keeps the orders service's copy of a product: the highest catalog
/// version wins, whatever order the events arrive in. A deletion is a
/// version like any other, stored as a tombstone, so an update that was
/// overtaken by the deletion cannot resurrect the product.
pub async fn project_product<S: OrdersStore>(
    store: &S,
    product: ProjectedProduct,
) -> Result<ProjectionOutcome, OrdersError> {
    if store.put_product(&product).await? {
        tracing::info!(product_id = %product.product_id, version = product.version, "product projection updated");
        Ok(ProjectionOutcome::Stored)
    } else {
        tracing::info!(product_id = %product.product_id, version = product.version, "older or duplicate product event; projection kept");
        Ok(ProjectionOutcome::Outdated)
    }
}
