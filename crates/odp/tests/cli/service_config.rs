//! Service configuration that cannot work is refused before anything runs (exit 2): base URLs that are not
//! http(s), not URLs, with a bad port, or with a query or fragment that would swallow the endpoint path; and a
//! registry fetched from a URL is read only up to the response limit.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::common::{kernel, odp, repo, text};
use odp_stubs::StubConfig;

#[test]
fn unusable_base_urls_are_configuration_errors_before_anything_runs() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stub = runtime.block_on(odp_stubs::test_support::start_bundled(StubConfig::default()));
    let base = stub.base_url();
    let pipeline = "examples/ai-sentiment.odp.yaml";
    for (origin, url, why) in [
        (
            "ODP_CRAWLER_API_URL",
            "ftp://127.0.0.1/".to_string(),
            "its scheme is `ftp`",
        ),
        (
            "ODP_CRAWLER_API_URL",
            "file:///srv/crawler".to_string(),
            "its scheme is `file`",
        ),
        (
            "ODP_CRAWLER_API_URL",
            "not a url".to_string(),
            "not an absolute URL",
        ),
        (
            "ODP_CRAWLER_API_URL",
            "http://127.0.0.1:99999".to_string(),
            "invalid port number",
        ),
        (
            "ODP_MODEL_API_URL",
            format!("{base}?api-version=2"),
            "it has a query",
        ),
        (
            "ODP_MODEL_API_URL",
            format!("{base}#v1"),
            "it has a fragment",
        ),
    ] {
        let other = if origin == "ODP_CRAWLER_API_URL" {
            "ODP_MODEL_API_URL"
        } else {
            "ODP_CRAWLER_API_URL"
        };
        let o = odp(&["run", pipeline], &[(origin, &url), (other, &base)]);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{url}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "error: {origin}: `{}` is not a usable base URL: ",
                without_query_or_fragment(&url)
            )),
            "{stderr}"
        );
        assert!(stderr.contains(why), "{stderr}");
        assert!(o.stdout.is_empty(), "nothing ran");
    }
    let o = odp(&["run", pipeline, "--crawler-url", "ftp://crawler"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("error: --crawler-url: `ftp://crawler` is not a usable base URL"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(stub.total_calls(), 0, "no service was called");
}

#[test]
fn an_unusable_base_url_in_odp_toml_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("odp.toml"),
        "[services]\nmodel-url = \"http://127.0.0.1:8002/v1#x\"\n",
    )
    .unwrap();
    let flow = dir.path().join("flow.odp.yaml");
    std::fs::copy(repo().join("examples/ai-sentiment.odp.yaml"), &flow).unwrap();
    let o = odp(&["run", flow.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(
            "odp.toml:2:13: `http://127.0.0.1:8002/v1#…` is not a usable base URL: it has a fragment"
        ),
        "{}",
        text(&o.stderr)
    );
}

/// A base URL that carries a key (in a query, or as credentials) is refused, and the message shows the URL without
/// the key.
#[test]
fn a_refused_base_url_never_shows_the_key_it_carries() {
    for url in [
        "https://api.example.com/v1?api_key=sk-leaky-secret-123",
        "https://user:sk-leaky-secret-123@api.example.com/v1",
        "https://api.example.com:99999/v1?api_key=sk-leaky-secret-123",
    ] {
        let o = odp(
            &["run", "examples/ai-sentiment.odp.yaml"],
            &[("ODP_MODEL_API_URL", url)],
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        let stderr = text(&o.stderr);
        assert!(stderr.contains("ODP_MODEL_API_URL"), "{stderr}");
        assert!(!stderr.contains("sk-leaky"), "{stderr}");
    }
}

#[test]
fn the_kernel_refuses_an_unusable_base_url_at_startup() {
    let o = kernel(&["--crawler-url", "ftp://crawler"], &[]).expect("the kernel exits");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("error: --crawler-url: `ftp://crawler` is not a usable base URL"),
        "{}",
        text(&o.stderr)
    );
    let o =
        kernel(&[], &[("ODP_MODEL_API_URL", "http://127.0.0.1:99999")]).expect("the kernel exits");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("invalid port number"),
        "{}",
        text(&o.stderr)
    );
}

/// Serves one request on loopback: `body` as a registry, chunk-encoded (no length announced), in chunks of 64 KiB.
/// The thread ends with the count of body bytes written before the client hung up.
fn serve_registry(body: Vec<u8>) -> (String, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/registry.yaml", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let _ = stream.read(&mut [0u8; 4096]);
        let mut sent = 0;
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .is_err()
        {
            return sent;
        }
        for chunk in body.chunks(64 * 1024) {
            let ok = stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .and_then(|()| stream.write_all(chunk))
                .and_then(|()| stream.write_all(b"\r\n"));
            if ok.is_err() {
                return sent;
            }
            sent += chunk.len();
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        sent
    });
    (url, server)
}

#[test]
fn a_registry_over_the_response_limit_is_refused_without_reading_it_whole() {
    for command in ["check", "run"] {
        let (url, server) = serve_registry(vec![b'#'; 64 * 1024 * 1024]);
        let o = odp(
            &[
                command,
                "--registry",
                &url,
                "examples/ai-sentiment.odp.yaml",
            ],
            &[],
        );
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "odp {command}: {stderr}");
        assert!(
            stderr.contains("the registry is larger than the limit of 33554432 bytes"),
            "odp {command}: {stderr}"
        );
        // Stopped at the limit: what was sent beyond it is what the socket buffers held.
        let sent = server.join().unwrap();
        assert!(
            sent < 48 * 1024 * 1024,
            "odp {command}: {sent} bytes were sent"
        );
    }
}

#[test]
fn odp_run_takes_a_registry_from_a_url() {
    let registry =
        std::fs::read(repo().join("crates/odp-analysis/registry/default.registry.yaml")).unwrap();
    let (url, server) = serve_registry(registry);
    let o = odp(
        &["run", "--registry", &url, "examples/ai-sentiment.odp.yaml"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    server.join().unwrap();
}

/// A URL as error messages show it: a query or fragment (where keys travel) is cut to `?…` / `#…`.
fn without_query_or_fragment(url: &str) -> String {
    match url.find(['?', '#']) {
        Some(i) => format!("{}{}…", &url[..i], &url[i..=i]),
        None => url.to_string(),
    }
}
