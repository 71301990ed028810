//! Configuration and registry loading: an `odp.toml` (`parse_config`, then the matchers and ignores built from it)
//! and a registry file (`Registry::from_yaml`) from the same text.
//!
//! Properties: no panic; a configuration error points at a line and column inside the text; every registry error
//! range is in bounds and on character boundaries; a registry that loads without errors answers lookups of each of
//! its methods.

use std::path::Path;

use odp_analysis::Registry;
use odp_workspace::WorkspaceError;
use odp_workspace::config::parse_config;
use odp_workspace::discover::PipelineMatcher;
use odp_workspace::ignores::Ignores;

/// Runs the checks on one input; panics on a violated property.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_config(text, Path::new("/fuzz/odp.toml")) {
        Ok(config) => {
            // Globs and ignores are compiled from the configuration: bad ones are errors, never panics.
            let _ = PipelineMatcher::new(&config);
            let _ = Ignores::new(&config);
        }
        Err(WorkspaceError::Config { line, col, .. }) => {
            let lines = text.split('\n').count().max(1);
            assert!(
                line >= 1 && line <= lines,
                "line {line} of a {lines}-line text"
            );
            assert!(col >= 1, "column {col}");
        }
        Err(_) => {}
    }

    let (registry, errors) = Registry::from_yaml(text);
    for e in &errors {
        let r = e.range;
        assert!(
            r.start <= r.end && r.end() <= text.len(),
            "registry error {r:?} out of bounds"
        );
        assert!(text.is_char_boundary(r.start()) && text.is_char_boundary(r.end()));
        assert!(!e.message.is_empty());
    }
    for method in registry.methods() {
        assert!(
            registry.get(method.id()).is_some(),
            "{} is listed but not found",
            method.id()
        );
    }
}
