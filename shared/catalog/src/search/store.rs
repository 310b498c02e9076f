use std::future::Future;

use contracts::ProductId;

use crate::search::model::{IndexState, PageRequest, Row, RowPage};

/// Storage port of the search read model. Conditions are answered as
/// `false` rather than errors: losing to a newer version is the normal way
/// an out-of-order event ends.
pub trait SearchStore: Send + Sync {
    /// The product's index state (strongly consistent read).
    fn state(
        &self,
        id: ProductId,
    ) -> impl Future<Output = anyhow::Result<Option<IndexState>>> + Send;

    /// Stores `state` only if the stored state is still the one read:
    /// absent when `read` is `None`, else with the same version and
    /// completeness (compare-and-swap). `false` when it changed.
    fn claim(
        &self,
        state: &IndexState,
        read: Option<(u64, bool)>,
    ) -> impl Future<Output = anyhow::Result<bool>> + Send;

    /// Writes `row` into `partition` unless a newer version of the product's
    /// row is there. `false` when one is.
    fn put_row(
        &self,
        partition: &str,
        row: &Row,
    ) -> impl Future<Output = anyhow::Result<bool>> + Send;

    /// Marks `version` of the product's state complete, if it is still the
    /// stored version (a newer claim makes this a no-op).
    fn complete(
        &self,
        id: ProductId,
        version: u64,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Reads visible rows of one partition in order.
    fn page(&self, request: &PageRequest) -> impl Future<Output = anyhow::Result<RowPage>> + Send;
}
