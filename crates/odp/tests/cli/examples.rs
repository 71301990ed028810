//! Every example pipeline runs on the embedded default (the built-in stubs), and `data.custom.transform` through
//! the `odp __jq_eval` child process.

use odp_analysis::{Environment, Registry};

use crate::common::{odp, repo, text};

/// A value for a required input without a default, by its declared type.
fn value_for(type_name: Option<&str>) -> &'static str {
    match type_name {
        Some("string") | None => "rust",
        Some("integer" | "number") => "3",
        Some("boolean") => "true",
        Some(other) => panic!("no example value for an input of type {other}: add one here"),
    }
}

#[test]
fn every_example_runs_on_the_built_in_stubs() {
    let registry = Registry::bundled();
    let mut paths: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".odp.yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 5, "{paths:?}");
    let mut failures = Vec::new();
    for path in &paths {
        let source = std::fs::read_to_string(path).unwrap();
        let analysis = odp_analysis::analyze(&source, &Environment::new(&registry));
        let mut args = vec!["run".to_string(), path.display().to_string()];
        for input in analysis
            .pipeline
            .inputs
            .iter()
            .filter(|i| i.default.is_none())
        {
            args.push("--set".into());
            args.push(format!(
                "{}={}",
                input.name.value,
                value_for(input.type_name.as_deref())
            ));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = odp(&args, &[]);
        if o.status.code() != Some(0) {
            failures.push(format!(
                "odp {}: exit {:?}\n{}",
                args.join(" "),
                o.status.code(),
                text(&o.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A pipeline with one `data.custom.transform` step and this expression, run by `odp run`: its result JSON.
fn transform(expression: &str) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jq.odp.yaml");
    let pipeline = serde_json::json!({
        "name": "jq test",
        "sources": [{
            "name": "shaped",
            "method": "data.custom.transform",
            "params": {"input": [{"name": "Battery"}, {"name": "Range"}], "expression": expression},
        }],
    });
    // JSON is YAML.
    std::fs::write(&path, pipeline.to_string()).unwrap();
    let o = odp(&["run", path.to_str().unwrap()], &[]);
    let result = serde_json::from_slice(&o.stdout).unwrap_or_default();
    (o.status.code(), result, text(&o.stderr))
}

#[test]
fn transform_evaluates_jq_in_a_child_of_odp() {
    let (code, result, stderr) = transform("{rows: [.[] | {label: .name}]}");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        result["results"]["shaped"],
        serde_json::json!({"rows": [{"label": "Battery"}, {"label": "Range"}]})
    );
    // A syntax error is a 400 with its position: one attempt, no retry.
    let (code, result, stderr) = transform("{rows: .[0:1]");
    assert_ne!(code, Some(0), "{stderr}");
    assert_eq!(result["steps"][0]["attempts"], 1, "{result}");
    let error = result["error"].as_str().unwrap();
    assert!(
        error.contains("HTTP 400: jq syntax error at 1:14: expected closing brace"),
        "{error}"
    );
    // Runaway recursion kills the child, not `odp run`, which reports it.
    let (code, result, stderr) = transform("def f: 1 + f; f");
    assert_eq!(result["status"], "failed", "{stderr}");
    assert_ne!(code, Some(0));
    assert_eq!(result["steps"][0]["attempts"], 1, "{result}");
    let error = result["error"].as_str().unwrap();
    assert!(
        error.contains("HTTP 400: the expression ran out of stack"),
        "{error}"
    );
}
