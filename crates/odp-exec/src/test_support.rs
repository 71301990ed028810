//! For tests, here and in other crates (the `test-support` feature): the method client that tests point at a stub
//! server.

use crate::{HttpMethodClient, Secret, ServiceEndpoint};

/// A client that sends both services' calls to `base_url` (a stub server's), with `api_key` as both services' key.
pub fn stub_client(
    base_url: &str,
    api_key: Option<&str>,
    max_response_bytes: usize,
) -> HttpMethodClient {
    let endpoint = ServiceEndpoint {
        base_url: base_url.to_string(),
        api_key: api_key.map(Secret::new),
    };
    HttpMethodClient::new(Some(endpoint.clone()), Some(endpoint), max_response_bytes)
        .expect("the method client")
}
