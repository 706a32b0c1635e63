//! Canned service responses for what moto cannot do: an interceptor answers each operation (by name) with the
//! next response of its queue, the last one repeating, over an HTTP client that never leaves the process.
//!
//! Not aws-smithy-mocks: it turns on `aws-smithy-http-client/test-util`, which turns on `serde_json/
//! preserve_order` for the whole workspace under `cargo test --workspace`, and that changes the key order of every
//! synthesized template (the snapshot tests fail). This is the same idea in a few lines without that feature.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, Error, FinalizerInterceptorContextMut, Output,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

type Reply = Arc<dyn Fn() -> Result<Output, OrchestratorError<Error>> + Send + Sync>;

/// A modeled output.
pub fn ok<T: Clone + std::fmt::Debug + Send + Sync + 'static>(v: T) -> Reply {
    Arc::new(move || Ok(Output::erase(v.clone())))
}

/// A modeled error, made fresh for each call.
pub fn err<E: std::error::Error + Send + Sync + 'static>(f: impl Fn() -> E + Send + Sync + 'static) -> Reply {
    Arc::new(move || Err(OrchestratorError::operation(Error::erase(f()))))
}

/// Queues of replies per operation name, and the names of the operations called.
#[derive(Clone, Default)]
pub struct Canned {
    replies: Arc<Mutex<HashMap<&'static str, Vec<Reply>>>>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Canned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canned").field("calls", &self.calls).finish()
    }
}

#[derive(Clone, Debug)]
struct Operation(String);

impl Storable for Operation {
    type Storer = StoreReplace<Self>;
}

impl Canned {
    /// Answers `operation` with `replies` in order, the last repeating.
    pub fn on(self, operation: &'static str, replies: Vec<Reply>) -> Self {
        self.replies.lock().unwrap().insert(operation, replies);
        self
    }

    /// How many times `operation` was called.
    pub fn count(&self, operation: &str) -> usize {
        self.calls.lock().unwrap().iter().filter(|c| *c == operation).count()
    }
}

impl Intercept for Canned {
    fn name(&self) -> &'static str {
        "canned"
    }

    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_default();
        cfg.interceptor_state().store_put(Operation(name));
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        ctx: &mut FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Operation(name)) = cfg.load::<Operation>().cloned() else { return Ok(()) };
        self.calls.lock().unwrap().push(name.clone());
        let reply = {
            let mut replies = self.replies.lock().unwrap();
            let queue = replies.get_mut(name.as_str()).unwrap_or_else(|| panic!("no canned reply for {name}"));
            if queue.len() > 1 { queue.remove(0) } else { Arc::clone(&queue[0]) }
        };
        ctx.inner_mut().set_output_or_error(reply());
        Ok(())
    }
}

/// An HTTP client answering every request with an empty 200, replaced by the canned reply before it counts.
#[derive(Debug)]
pub struct Offline;

impl HttpConnector for Offline {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Ok(HttpResponse::new(200u16.try_into().unwrap(), SdkBody::empty())))
    }
}

impl HttpClient for Offline {
    fn http_connector(&self, _s: &HttpConnectorSettings, _c: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(Offline)
    }
}
