//! Generated artifacts checked into the repository. Each test fails when its file is stale; run
//! `UPDATE_EXPECT=1 cargo test -p odp-cli generated` to write them anew.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check_file(relative: &str, contents: &str) {
    let path = repo_root().join(relative);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current == contents {
        return;
    }
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dir");
        std::fs::write(&path, contents).expect("write generated file");
        return;
    }
    panic!(
        "{relative} is stale: run `UPDATE_EXPECT=1 cargo test -p odp-cli generated` and commit it"
    );
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("serializes");
    s.push('\n');
    s
}

#[test]
fn generated_schemas_are_fresh() {
    check_file(
        "schemas/pipeline.schema.json",
        &pretty(&odp_analysis::schema::pipeline_schema()),
    );
    check_file(
        "schemas/registry.schema.json",
        &pretty(&odp_analysis::schema::registry_schema()),
    );
    check_file(
        "schemas/config.schema.json",
        &pretty(&odp_workspace::config_schema()),
    );
}

#[test]
fn generated_code_docs_are_fresh() {
    check_file("docs/codes.md", &crate::codes_markdown());
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    let parse = odp_syntax::parse(text);
    assert!(parse.errors.is_empty(), "{:?}", parse.errors);
    odp_analysis::registry::to_serde(&parse.root.expect("a document").to_json())
}

#[test]
fn examples_conform_to_the_published_schema() {
    let schema = odp_analysis::schema::pipeline_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let mut checked = 0;
    for entry in std::fs::read_dir(repo_root().join("examples")).expect("examples") {
        let path = entry.expect("entry").path();
        if !path.to_string_lossy().ends_with(".odp.yaml") {
            continue;
        }
        let instance = yaml_to_json(&std::fs::read_to_string(&path).expect("read"));
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert!(checked >= 5);
    // And a broken one does not conform.
    let broken = yaml_to_json(
        &std::fs::read_to_string(repo_root().join("examples/broken/bad-timeout.odp.yaml"))
            .expect("read"),
    );
    assert!(!validator.is_valid(&broken));
}

#[test]
fn bundled_registry_conforms_to_the_registry_schema() {
    let schema = odp_analysis::schema::registry_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let instance = yaml_to_json(odp_analysis::Registry::bundled_text());
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
