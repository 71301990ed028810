//! For tests, here and in other crates (the `test-support` feature): the stub server as they all start it, and the
//! example params of the bundled methods.

use serde_json::{Map, Value};

use crate::{Registry, StubConfig, StubServer};

/// The stub server for the bundled registry on a free loopback port.
pub async fn start_bundled(config: StubConfig) -> StubServer {
    StubServer::start(
        Registry::bundled(),
        "127.0.0.1:0".parse().expect("a loopback address"),
        config,
    )
    .await
    .expect("the stub server starts")
}

/// Valid params for every bundled method, by method id (`tests/example_params.json`).
pub fn example_params() -> Map<String, Value> {
    serde_json::from_str::<Value>(include_str!("../tests/example_params.json"))
        .expect("example_params.json is JSON")
        .as_object()
        .expect("example_params.json is an object")
        .clone()
}
