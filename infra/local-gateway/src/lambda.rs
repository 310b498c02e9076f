//! Calling Lambda functions by their template logical id.
//!
//! [`Invoker`] runs a function by its deployed name; [`FunctionCatalog`] tells
//! which deployed name each logical id of the stack has. [`Functions`] joins
//! the two, caches the names, and reloads them once when a function is
//! missing (the stack was re-deployed).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, RwLock};

use crate::template::FunctionRef;

/// What a Lambda invocation returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub payload: Vec<u8>,
    /// `FunctionError` of the Invoke response (`Unhandled`, ...): the payload
    /// then holds `{"errorMessage", "errorType"}`.
    pub function_error: Option<String>,
}

impl Invocation {
    pub fn ok(payload: impl Into<Vec<u8>>) -> Self {
        Self {
            payload: payload.into(),
            function_error: None,
        }
    }

    /// A failed invocation as the Lambda runtime reports it.
    pub fn error(error_type: &str, message: &str) -> Self {
        Self {
            payload: serde_json::json!({ "errorType": error_type, "errorMessage": message })
                .to_string()
                .into_bytes(),
            function_error: Some("Unhandled".to_owned()),
        }
    }

    /// `errorMessage` of a failed invocation's payload.
    pub fn error_message(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.payload).ok()?;
        value.get("errorMessage")?.as_str().map(str::to_owned)
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvokeError {
    #[error("function {0} does not exist")]
    NotFound(String),
    #[error("{0}")]
    Failed(String),
}

/// Runs a Lambda function (request/response) by name or ARN.
pub trait Invoker: Send + Sync + 'static {
    fn invoke(
        &self,
        function_name: &str,
        payload: &[u8],
    ) -> impl Future<Output = Result<Invocation, InvokeError>> + Send;
}

/// The deployed stack, as far as the gateway cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackSnapshot {
    /// Logical id -> deployed function name, for `AWS::Lambda::Function`s.
    pub functions: HashMap<String, String>,
    /// Physical id of every resource, by logical id.
    pub resources: HashMap<String, String>,
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("stack {0} not found: run `./dev up` first")]
    StackNotFound(String),
    #[error("cannot read stack {stack}: {reason}")]
    Unavailable { stack: String, reason: String },
}

/// Reads the deployed stack.
pub trait FunctionCatalog: Send + Sync + 'static {
    fn load(&self) -> impl Future<Output = Result<StackSnapshot, CatalogError>> + Send;
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FunctionError {
    #[error("function {0} is not deployed in the stack (deploy again: `./dev up`)")]
    NotDeployed(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("invoking {function} failed: {source}")]
    Invoke {
        function: String,
        source: InvokeError,
    },
}

struct Names {
    generation: u64,
    snapshot: Arc<StackSnapshot>,
}

pub struct Functions<I, C> {
    invoker: I,
    catalog: C,
    names: RwLock<Names>,
    reload: Mutex<()>,
}

impl<I: Invoker, C: FunctionCatalog> Functions<I, C> {
    /// Loads the stack once; fails if it cannot be read.
    pub async fn new(invoker: I, catalog: C) -> Result<Self, CatalogError> {
        let snapshot = catalog.load().await?;
        Ok(Self {
            invoker,
            catalog,
            names: RwLock::new(Names {
                generation: 0,
                snapshot: Arc::new(snapshot),
            }),
            reload: Mutex::new(()),
        })
    }

    pub async fn snapshot(&self) -> Arc<StackSnapshot> {
        Arc::clone(&self.names.read().await.snapshot)
    }

    /// Invokes the function, reloading the stack once if the function is
    /// unknown or its deployed name no longer exists.
    pub async fn invoke(
        &self,
        target: &FunctionRef,
        payload: &[u8],
    ) -> Result<Invocation, FunctionError> {
        let logical = match target {
            FunctionRef::Name(name) => {
                return self.invoker.invoke(name, payload).await.map_err(|source| {
                    FunctionError::Invoke {
                        function: name.clone(),
                        source,
                    }
                });
            }
            FunctionRef::Logical(logical) => logical,
        };

        let (generation, name) = self.lookup(logical).await;
        let (generation, name) = match name {
            Some(name) => (generation, name),
            None => {
                self.reload_after(generation).await?;
                match self.lookup(logical).await {
                    (_, Some(name)) => return self.invoke_named(&name, payload).await,
                    (_, None) => return Err(FunctionError::NotDeployed(logical.clone())),
                }
            }
        };
        match self.invoker.invoke(&name, payload).await {
            Err(InvokeError::NotFound(_)) => {
                tracing::info!(function = %logical, "function {name} not found: reloading the stack");
                self.reload_after(generation).await?;
                match self.lookup(logical).await {
                    (_, Some(name)) => self.invoke_named(&name, payload).await,
                    (_, None) => Err(FunctionError::NotDeployed(logical.clone())),
                }
            }
            other => other.map_err(|source| FunctionError::Invoke {
                function: name,
                source,
            }),
        }
    }

    async fn invoke_named(&self, name: &str, payload: &[u8]) -> Result<Invocation, FunctionError> {
        self.invoker
            .invoke(name, payload)
            .await
            .map_err(|source| FunctionError::Invoke {
                function: name.to_owned(),
                source,
            })
    }

    async fn lookup(&self, logical: &str) -> (u64, Option<String>) {
        let names = self.names.read().await;
        (
            names.generation,
            names.snapshot.functions.get(logical).cloned(),
        )
    }

    /// Reloads the stack unless another request already did since `seen`.
    async fn reload_after(&self, seen: u64) -> Result<(), CatalogError> {
        let _one_at_a_time = self.reload.lock().await;
        if self.names.read().await.generation != seen {
            return Ok(());
        }
        let snapshot = self.catalog.load().await?;
        let mut names = self.names.write().await;
        names.generation += 1;
        names.snapshot = Arc::new(snapshot);
        Ok(())
    }
}

/// In-memory [`Invoker`] and [`FunctionCatalog`], for tests and dry runs.
pub mod memory {
    use super::*;
    use std::sync::Mutex as StdMutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use serde_json::Value;

    type Handler = Arc<dyn Fn(&Value) -> Invocation + Send + Sync>;

    /// Functions are closures over the JSON event, registered by deployed name.
    #[derive(Clone, Default)]
    pub struct MemoryInvoker {
        handlers: Arc<StdMutex<HashMap<String, Handler>>>,
        calls: Arc<StdMutex<Vec<(String, Value)>>>,
        delay: Option<Duration>,
    }

    impl MemoryInvoker {
        pub fn new() -> Self {
            Self::default()
        }

        /// Every invocation first waits `delay` (without blocking a thread).
        pub fn with_delay(mut self, delay: Duration) -> Self {
            self.delay = Some(delay);
            self
        }

        pub fn on(
            &self,
            function: &str,
            handler: impl Fn(&Value) -> Invocation + Send + Sync + 'static,
        ) {
            if let Ok(mut handlers) = self.handlers.lock() {
                handlers.insert(function.to_owned(), Arc::new(handler));
            }
        }

        /// The function returns `result` as JSON.
        pub fn returns(&self, function: &str, result: Value) {
            let payload = result.to_string();
            self.on(function, move |_| Invocation::ok(payload.clone()));
        }

        pub fn remove(&self, function: &str) {
            if let Ok(mut handlers) = self.handlers.lock() {
                handlers.remove(function);
            }
        }

        /// Every invocation so far: function name and event.
        pub fn calls(&self) -> Vec<(String, Value)> {
            self.calls.lock().map(|c| c.clone()).unwrap_or_default()
        }

        pub fn calls_to(&self, function: &str) -> Vec<Value> {
            self.calls()
                .into_iter()
                .filter(|(name, _)| name == function)
                .map(|(_, event)| event)
                .collect()
        }
    }

    impl Invoker for MemoryInvoker {
        async fn invoke(
            &self,
            function_name: &str,
            payload: &[u8],
        ) -> Result<Invocation, InvokeError> {
            if let Some(delay) = self.delay {
                tokio::time::sleep(delay).await;
            }
            let event: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
            let handler = self
                .handlers
                .lock()
                .ok()
                .and_then(|h| h.get(function_name).cloned())
                .ok_or_else(|| InvokeError::NotFound(function_name.to_owned()))?;
            if let Ok(mut calls) = self.calls.lock() {
                calls.push((function_name.to_owned(), event.clone()));
            }
            Ok(handler(&event))
        }
    }

    /// A stack whose content tests can change, counting the loads.
    #[derive(Clone, Default)]
    pub struct MemoryCatalog {
        snapshot: Arc<StdMutex<Option<StackSnapshot>>>,
        loads: Arc<AtomicUsize>,
    }

    impl MemoryCatalog {
        /// Logical id -> deployed name.
        pub fn with_functions<'a>(functions: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
            let catalog = Self::default();
            catalog.set_functions(functions);
            catalog
        }

        pub fn set_functions<'a>(&self, functions: impl IntoIterator<Item = (&'a str, &'a str)>) {
            let functions: HashMap<String, String> = functions
                .into_iter()
                .map(|(l, p)| (l.to_owned(), p.to_owned()))
                .collect();
            if let Ok(mut snapshot) = self.snapshot.lock() {
                *snapshot = Some(StackSnapshot {
                    resources: functions.clone(),
                    functions,
                    account_id: Some("000000000000".to_owned()),
                });
            }
        }

        /// Makes the stack disappear.
        pub fn clear(&self) {
            if let Ok(mut snapshot) = self.snapshot.lock() {
                *snapshot = None;
            }
        }

        pub fn loads(&self) -> usize {
            self.loads.load(Ordering::SeqCst)
        }
    }

    impl FunctionCatalog for MemoryCatalog {
        async fn load(&self) -> Result<StackSnapshot, CatalogError> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            self.snapshot
                .lock()
                .ok()
                .and_then(|s| s.clone())
                .ok_or_else(|| CatalogError::StackNotFound("memory".to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::{MemoryCatalog, MemoryInvoker};
    use super::*;
    use serde_json::json;

    fn logical(id: &str) -> FunctionRef {
        FunctionRef::Logical(id.to_owned())
    }

    #[tokio::test]
    async fn logical_ids_resolve_to_deployed_names() {
        let invoker = MemoryInvoker::new();
        invoker.returns("stack-Users-ABC", json!({"ok": true}));
        let catalog = MemoryCatalog::with_functions([("Users", "stack-Users-ABC")]);
        let functions = Functions::new(invoker.clone(), catalog.clone())
            .await
            .expect("loads");
        let result = functions
            .invoke(&logical("Users"), b"{}")
            .await
            .expect("invokes");
        assert_eq!(result.payload, br#"{"ok":true}"#);
        assert_eq!(invoker.calls_to("stack-Users-ABC").len(), 1);
        assert_eq!(catalog.loads(), 1, "the names are cached");
    }

    #[tokio::test]
    async fn redeployed_function_triggers_one_reload() {
        let invoker = MemoryInvoker::new();
        invoker.returns("stack-Users-NEW", json!("new"));
        let catalog = MemoryCatalog::with_functions([("Users", "stack-Users-OLD")]);
        let functions = Functions::new(invoker.clone(), catalog.clone())
            .await
            .expect("loads");
        catalog.set_functions([("Users", "stack-Users-NEW")]);
        let result = functions
            .invoke(&logical("Users"), b"{}")
            .await
            .expect("invokes after reload");
        assert_eq!(result.payload, br#""new""#);
        assert_eq!(catalog.loads(), 2);
        // Later calls use the cached new name.
        functions
            .invoke(&logical("Users"), b"{}")
            .await
            .expect("invokes");
        assert_eq!(catalog.loads(), 2);
    }

    #[tokio::test]
    async fn unknown_function_after_reload_is_not_deployed() {
        let catalog = MemoryCatalog::with_functions([]);
        let functions = Functions::new(MemoryInvoker::new(), catalog.clone())
            .await
            .expect("loads");
        let err = functions
            .invoke(&logical("Ghost"), b"{}")
            .await
            .expect_err("missing");
        assert_eq!(err, FunctionError::NotDeployed("Ghost".to_owned()));
        assert_eq!(catalog.loads(), 2);
    }

    #[tokio::test]
    async fn missing_stack_is_reported() {
        let catalog = MemoryCatalog::default();
        let err = Functions::new(MemoryInvoker::new(), catalog)
            .await
            .err()
            .expect("no stack");
        assert!(err.to_string().contains("./dev up"), "{err}");
    }

    #[tokio::test]
    async fn names_are_invoked_as_given() {
        let invoker = MemoryInvoker::new();
        invoker.returns("arn:aws:lambda:us-east-1:000000000000:function:x", json!(1));
        let functions = Functions::new(invoker, MemoryCatalog::with_functions([]))
            .await
            .expect("loads");
        let target =
            FunctionRef::Name("arn:aws:lambda:us-east-1:000000000000:function:x".to_owned());
        assert_eq!(
            functions
                .invoke(&target, b"{}")
                .await
                .expect("invokes")
                .payload,
            b"1"
        );
    }

    #[test]
    fn error_message_is_read_from_the_payload() {
        assert_eq!(
            Invocation::error("E", "Unauthorized")
                .error_message()
                .as_deref(),
            Some("Unauthorized")
        );
        assert_eq!(Invocation::ok("{}").error_message(), None);
    }
}
