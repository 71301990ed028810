//! The parts of Rust cells that need no rustc: the exchange files, the prelude, the pick-up of published values
//! and the toolchain lookup. (Evaluation itself is tested through Jupyter in tests/kernel/test_rust_cells.py.)

use std::path::Path;

use expect_test::expect;
use serde_json::{Value, json};

use super::exchange::odp_crate_source;
use super::*;

fn results(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(n, r)| (n.to_string(), *r)).collect()
}

#[test]
fn the_prelude_binds_each_result_once_until_it_changes_or_the_process_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = Exchange::create(dir.path()).unwrap();
    let first = results(&[("posts", 1), ("type", 2), ("self", 3)]);
    expect![[r#"let posts: serde_json::Value = odp::step("posts").unwrap_or(serde_json::Value::Null); let r#type: serde_json::Value = odp::step("type").unwrap_or(serde_json::Value::Null);"#]]
        .assert_eq(&x.prelude(&first));
    x.defined(&first);
    assert_eq!(x.prelude(&first), "", "nothing changed: no prelude");
    // `posts` ran again (a new revision) and `ranked` was published.
    let second = results(&[("posts", 4), ("type", 2), ("self", 3), ("ranked", 5)]);
    expect![[r#"let posts: serde_json::Value = odp::step("posts").unwrap_or(serde_json::Value::Null); let ranked: serde_json::Value = odp::step("ranked").unwrap_or(serde_json::Value::Null);"#]]
        .assert_eq(&x.prelude(&second));
    x.defined(&second);
    // A panic or an interrupt: the variables are gone, all are bound again.
    x.variables_lost();
    assert_eq!(x.prelude(&second).matches("let ").count(), 3);
}

#[test]
fn results_are_files_rewritten_only_when_their_revision_changes_and_removed_when_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = Exchange::create(dir.path()).unwrap();
    let posts = json!({"results": [{"author": "ana", "likes": 3}]});
    let mut value = posts.clone();
    let file = dir.path().join("steps/posts.json");
    x.sync(&results(&[("posts", 1)]), |_| Some(&value)).unwrap();
    let read: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(read, posts);
    // The same revision: the file is not written again (even if the value handed over differs).
    value = json!(0);
    x.sync(&results(&[("posts", 1)]), |_| Some(&value)).unwrap();
    let read: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(read, posts);
    x.sync(&results(&[("posts", 2)]), |_| Some(&value)).unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "0");
    // `%reset`: the session has no results any more.
    x.defined(&results(&[("posts", 2)]));
    x.sync(&[], |_| None).unwrap();
    assert!(!file.exists());
    assert_eq!(
        x.prelude(&results(&[("posts", 2)])).matches("let ").count(),
        1,
        "a result that comes back is bound again"
    );
}

#[test]
fn published_records_are_read_in_order_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let x = Exchange::create(dir.path()).unwrap();
    let published = dir.path().join("published");
    std::fs::write(
        published.join("000000000001.json"),
        r#"{"name": "ranked", "value": [1, 2]}"#,
    )
    .unwrap();
    std::fs::write(
        published.join("000000000000.json"),
        r#"{"name": "bad", "error": "key must be a string"}"#,
    )
    .unwrap();
    // Written half-way (the temporary name): not taken.
    std::fs::write(published.join(".000000000002.tmp"), "{").unwrap();
    let records = x.take_published().unwrap();
    assert_eq!(
        records,
        vec![
            PublishRecord::Unserializable {
                name: "bad".into(),
                message: "key must be a string".into()
            },
            PublishRecord::Value {
                name: "ranked".into(),
                value: json!([1, 2])
            },
        ]
    );
    assert_eq!(x.take_published().unwrap(), vec![], "taken once");
    std::fs::write(published.join("000000000003.json"), "not json").unwrap();
    let err = x.take_published().unwrap_err();
    assert!(err.contains("could not be read back"), "{err}");
}

#[test]
fn the_odp_crate_knows_its_session_directory_and_the_setup_adds_it_as_a_path_dependency() {
    let dir = Path::new("/tmp/odp-rust-\"quoted\"");
    let source = odp_crate_source(dir);
    assert!(
        source.contains(r#"const DIR: &str = "/tmp/odp-rust-\"quoted\"";"#),
        "{source}"
    );
    assert!(source.contains("pub fn publish<T: serde::Serialize + ?Sized>(name: &str, value: &T)"));
    assert!(source.contains("pub fn step(name: &str) -> Option<serde_json::Value>"));
    let tmp = tempfile::tempdir().unwrap();
    let x = Exchange::create(tmp.path()).unwrap();
    let setup = x.setup_commands();
    let odp_line = setup.lines().last().unwrap();
    assert_eq!(
        odp_line,
        format!(
            ":dep odp = {{ path = {} }}",
            Value::String(tmp.path().join("odp").display().to_string())
        )
    );
    assert!(tmp.path().join("odp/src/lib.rs").is_file());
    assert!(tmp.path().join("odp/Cargo.toml").is_file());
}

#[test]
fn variables_take_raw_names_for_keywords_and_none_for_self() {
    assert_eq!(variable_name("posts").as_deref(), Some("posts"));
    assert_eq!(variable_name("match").as_deref(), Some("r#match"));
    assert_eq!(variable_name("self"), None);
    assert_eq!(variable_name("_"), None);
}

#[test]
fn the_toolchain_is_found_on_path_or_in_cargo_home_and_its_absence_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = find_toolchain(Some(empty.as_os_str()), None, Some(&empty)).unwrap_err();
    assert_eq!(err.ename, "RustUnavailable");
    assert!(
        err.evalue.contains("rustc and cargo cannot be found"),
        "{}",
        err.evalue
    );
    assert!(err.evalue.contains("rustup"), "{}", err.evalue);
    std::fs::write(bin.join("rustc"), "").unwrap();
    let err = find_toolchain(Some(bin.as_os_str()), None, None).unwrap_err();
    assert!(
        err.evalue.contains(", and cargo cannot be found"),
        "{}",
        err.evalue
    );
    std::fs::write(bin.join("cargo"), "").unwrap();
    assert!(find_toolchain(Some(bin.as_os_str()), None, None).is_ok());
    // Not on PATH, but where rustup puts it ($CARGO_HOME/bin).
    assert!(find_toolchain(Some(empty.as_os_str()), Some(dir.path()), None).is_ok());
}

#[test]
fn without_the_feature_the_error_says_how_to_build_it() {
    let e = not_built();
    assert_eq!(e.ename, "RustCellsNotBuilt");
    assert!(
        e.evalue
            .contains("cargo install --path crates/odp --features rust-cells"),
        "{}",
        e.evalue
    );
}

#[test]
fn the_prelude_goes_on_the_blank_rust_line_so_the_cells_lines_keep_their_numbers() {
    let code = "\n\nlet x = 1;\nx\n";
    assert_eq!(with_prelude(code, ""), code);
    let with = with_prelude(
        code,
        "let posts: serde_json::Value = odp::step(\"posts\").unwrap_or(serde_json::Value::Null);",
    );
    assert_eq!(with.lines().count(), code.lines().count());
    assert_eq!(with.lines().nth(2), Some("let x = 1;"));
    assert!(with.starts_with("let posts"));
}

#[test]
fn a_panic_is_found_in_stderr_and_the_tail_stays_bounded() {
    let stderr = "some output\nthread '<unnamed>' panicked at src/lib.rs:3:1:\nboom at 41\nstack backtrace:\n   0: x\n";
    assert_eq!(
        panic_message(stderr).as_deref(),
        Some("thread '<unnamed>' panicked at src/lib.rs:3:1:\nboom at 41")
    );
    assert_eq!(panic_message("a crash\n"), None);
    let mut tail = String::new();
    for _ in 0..10_000 {
        keep_tail(&mut tail, "é12345678\n");
    }
    assert!(tail.len() <= 16 * 1024 && tail.ends_with("é12345678\n"));
    assert_eq!(strip_ansi("\u{1b}[31mError:\u{1b}[0m x"), "Error: x");
}
