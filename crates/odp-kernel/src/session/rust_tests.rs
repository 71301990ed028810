//! The session's side of `%%rust` cells, without rustc: the job a cell makes, published values checked and kept,
//! used by later step cells, shown by the magics, and `%export`'s refusal.

use odp_analysis::Registry;
use serde_json::{Value, json};

use super::*;
use crate::rust_cells::PublishRecord;

fn session() -> Session {
    Session::new(Registry::bundled(), std::env::temp_dir())
}

/// A step cell whose steps all complete with `result`.
fn step_cell(s: &mut Session, code: &str, result: Value) -> CellOutput {
    let count = s.start_cell(true);
    match s.begin(code, count) {
        Begin::Done(out) => out,
        Begin::Run(job) => {
            let names: Vec<(String, String)> = job
                .sources
                .iter()
                .chain(&job.transforms)
                .map(|p| (p.name.clone(), p.method.clone()))
                .collect();
            let outcome = odp_exec::RunOutcome {
                run_id: uuid::Uuid::nil(),
                pipeline: PIPELINE.into(),
                status: odp_exec::RunStatus::Completed,
                duration_ms: 1,
                error: None,
                steps: names
                    .iter()
                    .map(|(name, method)| odp_exec::StepReport {
                        name: name.clone(),
                        method: method.clone(),
                        status: odp_exec::StepStatus::Completed,
                        attempts: 1,
                        duration_ms: 1,
                        error: None,
                    })
                    .collect(),
                results: names
                    .iter()
                    .map(|(n, _)| (n.clone(), result.clone()))
                    .collect(),
            };
            s.finish(job, &outcome, count)
        }
        Begin::Draft(_) | Begin::Rust(_) => panic!("not a step cell: {code}"),
    }
}

/// A `%%rust` cell that "published" `records` (what the server does after evcxr ran it).
fn rust_cell(
    s: &mut Session,
    code: &str,
    records: Vec<PublishRecord>,
) -> Result<Vec<Output>, CellError> {
    let count = s.start_cell(true);
    let Begin::Rust(_) = s.begin(code, count) else {
        panic!("not a Rust cell: {code}")
    };
    s.finish_rust(records, count)
}

fn publish(name: &str, value: Value) -> PublishRecord {
    PublishRecord::Value {
        name: name.into(),
        value,
    }
}

const POSTS: &str = "name: posts\nmethod: social.reddit.search\nparams: {query: rust}\n";

fn posts() -> Value {
    json!({"results": [{"author": "ana", "score": 3}, {"author": "bo", "score": 9}], "count": 2})
}

#[test]
fn a_rust_cell_is_a_job_whose_lines_keep_the_cells_numbers() {
    let mut s = session();
    step_cell(&mut s, POSTS, posts());
    let count = s.start_cell(true);
    let Begin::Rust(job) = s.begin("%echo hi\n%%rust\nlet n = 1;\nn + 1\n", count) else {
        panic!("a Rust job")
    };
    assert_eq!(job.code, "\n\nlet n = 1;\nn + 1\n");
    assert_eq!(job.results, vec![("posts".to_string(), 1)]);
    assert_eq!(
        job.before.outputs,
        vec![Output::Stdout("hi\n".into())],
        "the magics before %%rust ran"
    );
    let count = s.start_cell(true);
    let Begin::Done(out) = s.begin("%%rust fast\nlet n = 1;", count) else {
        panic!("an error")
    };
    assert_eq!(out.error.unwrap().ename, "UsageError");
    // `%%rusty` is not `%%rust`.
    let count = s.start_cell(true);
    let Begin::Done(out) = s.begin("%%rusty\n1", count) else {
        panic!("an unknown magic")
    };
    assert_eq!(out.error.unwrap().ename, "UsageError");
}

#[test]
fn a_published_value_is_a_result_later_step_cells_use_and_complete() {
    let mut s = session();
    step_cell(&mut s, POSTS, posts());
    let ranked = json!({"authors": [{"author": "bo", "score": 9}, {"author": "ana", "score": 3}]});
    let out = rust_cell(
        &mut s,
        "%%rust\nodp::publish(\"ranked\", &v);",
        vec![publish("ranked", ranked.clone())],
    )
    .unwrap();
    assert_eq!(
        out,
        vec![Output::Stdout(
            "odp: published `ranked`: an object {authors} (use it as {{ranked}} in later cells)\n"
                .into()
        )]
    );
    assert_eq!(s.value_of("ranked"), Some(&ranked));
    // The next step cell references it: checked against its value's type, and handed to the engine.
    let cell = "name: top\nmethod: data.records.sort\nparams:\n  records: \"{{ranked.authors}}\"\n  field: score\n";
    let count = s.start_cell(true);
    let Begin::Run(job) = s.begin(cell, count) else {
        panic!("a run")
    };
    assert_eq!(job.results["ranked"], ranked);
    let bad = "name: top\nmethod: data.records.sort\nparams:\n  records: \"{{ranked.nope}}\"\n  field: score\n";
    let count = s.start_cell(true);
    let Begin::Done(out) = s.begin(bad, count) else {
        panic!("a check error")
    };
    assert_eq!(out.error.unwrap().ename, "CheckError");
    // Completion offers its fields, like a live result's.
    let code = "name: t\nmethod: data.records.sort\nparams:\n  records: \"{{ranked.";
    assert_eq!(s.complete(code, code.len()).matches, ["authors"]);
    // Published again: replaced, with a new revision (Rust rebinds it).
    let before = s.result_revisions();
    rust_cell(&mut s, "%%rust\n", vec![publish("ranked", json!([]))]).unwrap();
    assert_eq!(s.published().len(), 1);
    assert_eq!(s.value_of("ranked"), Some(&json!([])));
    assert_ne!(before, s.result_revisions());
}

#[test]
fn a_bad_name_a_steps_name_or_an_unserializable_value_publishes_nothing() {
    let mut s = session();
    step_cell(&mut s, POSTS, posts());
    let e = rust_cell(
        &mut s,
        "%%rust\n",
        vec![
            publish("fine", json!(1)),
            publish("2nd-try", json!(1)),
            publish("posts", json!(1)),
            publish("inputs", json!(1)),
            PublishRecord::Unserializable {
                name: "map".into(),
                message: "key must be a string".into(),
            },
        ],
    )
    .unwrap_err();
    assert_eq!(e.ename, "PublishError");
    expect_test::expect![[r#"
        PublishError: nothing was published: `2nd-try` is not a valid step name: use letters, digits and `_`, not starting with a digit
        `posts` is a step of this session (cell [1]): publish under another name (a step's result is read-only from Rust)
        a value cannot be published as `inputs`: `{{inputs.…}}` means the pipeline's inputs
        `map` could not be turned into JSON: key must be a string"#]]
    .assert_eq(&e.traceback.join("\n"));
    assert!(s.published().is_empty(), "all or nothing");
    assert_eq!(s.value_of("posts"), Some(&posts()));
}

#[test]
fn a_step_cannot_take_a_published_name() {
    let mut s = session();
    rust_cell(&mut s, "%%rust\n", vec![publish("ranked", json!({"a": 1}))]).unwrap();
    let out = step_cell(
        &mut s,
        "name: ranked\nmethod: social.reddit.search\nparams: {query: x}\n",
        posts(),
    );
    let e = out.error.unwrap();
    assert_eq!(e.ename, "CheckError");
    assert!(
        e.evalue
            .contains("`ranked` is a value a Rust cell published (cell [1])"),
        "{}",
        e.evalue
    );
    assert!(s.steps().is_empty());
}

#[test]
fn magics_show_list_and_forget_published_values() {
    let mut s = session();
    step_cell(&mut s, POSTS, posts());
    rust_cell(
        &mut s,
        "%%rust\n",
        vec![publish("ranked", json!([{"author": "bo"}]))],
    )
    .unwrap();
    let out = step_cell(&mut s, "%show ranked", json!(null));
    let Some(Output::Result(bundle)) = out.outputs.last() else {
        panic!("{out:?}")
    };
    assert_eq!(bundle[crate::mime::RESULT_MIME], json!([{"author": "bo"}]));
    let out = step_cell(&mut s, "%steps", json!(null));
    let Some(Output::Display(bundle)) = out.outputs.last() else {
        panic!("{out:?}")
    };
    let plain = bundle["text/plain"].as_str().unwrap();
    assert!(
        plain.contains("[2] ranked ← odp::publish (%%rust): 1 record {author}"),
        "{plain}"
    );
    let out = step_cell(&mut s, "%reset", json!(null));
    assert_eq!(
        out.outputs,
        vec![Output::Stdout(
            "session reset: forgot 2 steps and 0 inputs\n".into()
        )]
    );
    assert!(s.published().is_empty() && s.result_revisions().is_empty());
}

#[test]
fn export_leaves_rust_cells_out_and_refuses_steps_that_read_what_only_rust_published() {
    let mut s = session();
    step_cell(&mut s, POSTS, posts());
    rust_cell(
        &mut s,
        "%%rust\n",
        vec![publish(
            "ranked",
            json!({"authors": [{"author": "bo", "score": 9}]}),
        )],
    )
    .unwrap();
    // Without a step that reads it, the export is the step cells alone.
    let text = s.export("flow.odp.yaml").unwrap();
    assert!(
        !text.contains("ranked") && !text.contains("publish"),
        "{text}"
    );
    step_cell(
        &mut s,
        "name: top\nmethod: data.records.sort\nparams:\n  records: \"{{ranked.authors}}\"\n  field: score\n",
        json!({"results": []}),
    );
    step_cell(
        &mut s,
        "name: again\nmethod: data.records.sort\nparams:\n  records: \"{{ranked.authors}}\"\n  field: author\n",
        json!({"results": []}),
    );
    let e = s.export("flow.odp.yaml").unwrap_err();
    assert_eq!(e.ename, "ExportError");
    expect_test::expect!["the steps `top` (reads ranked), `again` (reads ranked) use values only a Rust cell published; a pipeline file has no Rust cells: nothing was written"]
        .assert_eq(&e.evalue);
}
