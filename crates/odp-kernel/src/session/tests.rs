use std::sync::Arc;

use odp_analysis::Registry;
use serde_json::{Value, json};

use super::*;
use odp_exec::{RunOutcome, RunStatus, StepReport, StepStatus};

/// A step's report as the engine makes it: its result when it completed, its error when it failed.
fn report(
    name: &str,
    method: &str,
    status: StepStatus,
    attempts: u32,
    error: Option<&str>,
) -> StepReport {
    StepReport {
        name: name.into(),
        method: method.into(),
        status,
        attempts,
        duration_ms: 4,
        error: error.map(str::to_owned),
    }
}

/// A run's outcome from its steps' reports and the results of those that completed.
fn outcome(steps: Vec<StepReport>, results: &dyn Fn(&str) -> Value) -> RunOutcome {
    let results = steps
        .iter()
        .filter(|r| r.status == StepStatus::Completed)
        .map(|r| (r.name.clone(), results(&r.name)))
        .collect();
    RunOutcome {
        run_id: uuid::Uuid::nil(),
        pipeline: PIPELINE.into(),
        status: RunStatus::Completed,
        duration_ms: 4,
        error: None,
        steps,
        results,
    }
}

fn session() -> Session {
    Session::new(Registry::bundled(), std::env::temp_dir())
}

/// Runs a cell with made-up results: each step's result is `results(name)`.
fn run_cell(s: &mut Session, code: &str, results: &dyn Fn(&str) -> Value) -> CellOutput {
    let count = s.start_cell(true);
    let out = match s.begin(code, count) {
        Begin::Done(out) => out,
        Begin::Run(job) => {
            let runs = job
                .sources
                .iter()
                .chain(&job.transforms)
                .map(|p| report(&p.name, &p.method, StepStatus::Completed, 1, None))
                .collect();
            let before = job.before.clone();
            let mut out = s.finish(job, &outcome(runs, results), count);
            out.outputs.splice(0..0, before);
            out
        }
        Begin::Draft(job) => panic!("a draft cell: {}", job.request),
        Begin::Rust(job) => panic!("a Rust cell: {}", job.code),
    };
    s.end_cell(count, code, out.result_text(), true);
    out
}

fn posts(_: &str) -> Value {
    json!({"results": [{"id": "1", "text": "I love rust", "author": "a", "url": "https://x/1", "created_at": "2026-01-01T00:00:00Z"}], "count": 1})
}

fn error_text(out: &CellOutput) -> String {
    let e = out.error.as_ref().expect("an error");
    format!("{}: {}\n{}", e.ename, e.evalue, e.traceback.join("\n"))
}

const TWEETS: &str = "name: tweets\nmethod: social.twitter.search\nparams:\n  query: \"{{inputs.topic}}\"\n  limit: 5\n";
const MOOD: &str =
    "name: mood\nmethod: nlp.sentiment.analyze\nparams:\n  texts: \"{{tweets.results[*].text}}\"\n";

#[test]
fn a_step_cell_is_checked_planned_and_kept() {
    let mut s = session();
    // The input is not set yet: the checker says so, with the cell's own positions.
    let out = run_cell(&mut s, TWEETS, &posts);
    let text = error_text(&out);
    assert!(
        text.starts_with("CheckError: the cell has 1 error"),
        "{text}"
    );
    assert!(text.contains("cell[1]:4:"), "{text}");
    assert!(text.contains("unknown input `topic`"), "{text}");
    assert!(s.steps().is_empty());

    let out = run_cell(&mut s, "%inputs topic=rust", &posts);
    assert!(out.error.is_none());
    assert_eq!(s.input("topic").unwrap().value, json!("rust"));

    let count = s.start_cell(true);
    let Begin::Run(job) = s.begin(TWEETS, count) else {
        panic!("expected a run")
    };
    assert_eq!(job.sources.len(), 1);
    assert_eq!(job.sources[0].endpoint, "/v1/social/twitter/search");
    assert_eq!(job.inputs, json!({"topic": "rust"}));
    let out = s.finish(
        job,
        &outcome(
            vec![report(
                "tweets",
                "social.twitter.search",
                StepStatus::Completed,
                1,
                None,
            )],
            &|n| posts(n),
        ),
        count,
    );
    let Some(Output::Result(bundle)) = out.outputs.last() else {
        panic!("expected a result: {out:?}")
    };
    assert_eq!(bundle[crate::mime::RESULT_MIME], posts("tweets"));
    // Not `application/json`: JupyterLab would rank it above the table.
    assert!(!bundle.contains_key("application/json"));
    assert!(bundle["text/html"].as_str().unwrap().contains("<table"));
    assert_eq!(
        bundle["text/plain"],
        "tweets ← social.twitter.search\n  results: 1 record {id, text, author, url, created_at}\n  count: 1\n"
    );
    let step = s.step("tweets").unwrap();
    assert_eq!(step.inputs_used, ["topic"]);
    assert_eq!(step.cell, count);

    // A later cell uses the result; a misspelt field is caught against the method's output.
    let out = run_cell(&mut s, MOOD, &|_| json!({"results": [], "summary": {}}));
    assert!(out.error.is_none(), "{out:?}");
    assert_eq!(s.step("mood").unwrap().deps, ["tweets"]);
    let out = run_cell(
        &mut s,
        "name: m2\nmethod: nlp.sentiment.analyze\nparams:\n  texts: \"{{tweets.results[*].txt}}\"\n",
        &posts,
    );
    let text = error_text(&out);
    assert!(text.contains("ODP405"), "{text}");
    assert!(text.contains("did you mean `text`"), "{text}");
}

#[test]
fn the_rules_of_a_pipeline_file_apply() {
    let mut s = session();
    run_cell(&mut s, "%inputs topic=rust", &posts);
    run_cell(&mut s, TWEETS, &posts);
    // A source may use only inputs, even across cells.
    let out = run_cell(
        &mut s,
        "name: page\nmethod: web.page.fetch\nparams:\n  url: \"{{tweets.results[0].url}}\"\n",
        &posts,
    );
    let text = error_text(&out);
    assert!(text.contains("ODP404"), "{text}");
    // A transform may not use a transform further down in its own cell.
    let out = run_cell(
        &mut s,
        "- name: a\n  method: nlp.sentiment.analyze\n  params: {texts: \"{{b.results[*].text}}\"}\n- name: b\n  method: nlp.sentiment.analyze\n  params: {texts: \"{{tweets.results[*].text}}\"}\n",
        &posts,
    );
    assert!(error_text(&out).contains("ODP402"), "{}", error_text(&out));
    // Not a step at all.
    let out = run_cell(&mut s, "hello", &posts);
    assert_eq!(out.error.unwrap().ename, "CellError");
}

#[test]
fn warnings_go_to_stderr_and_the_cell_runs() {
    let mut s = session();
    let out = run_cell(
        &mut s,
        "name: page\nmethod: web.page.fetch   # odp: ignore[unknown-method]\nparams: {url: \"https://example.com\"}\n",
        &|_| json!({"url": "https://example.com", "title": "Example", "text": "hi"}),
    );
    assert!(out.error.is_none(), "{out:?}");
    let stderr: Vec<&String> = out
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::Stderr(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(stderr.len(), 1);
    assert!(stderr[0].contains("ODP502"), "{}", stderr[0]);
    assert!(s.step("page").is_some());
}

#[test]
fn a_list_of_steps_and_a_pipeline_cell() {
    let mut s = session();
    let out = run_cell(
        &mut s,
        "inputs:\n  topic: {type: string, default: rust}\n  limit: {type: integer, default: 7}\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: \"{{inputs.topic}}\", limit: \"{{inputs.limit}}\"}\n",
        &posts,
    );
    assert!(out.error.is_none(), "{out:?}");
    assert_eq!(s.input("limit").unwrap().value, json!(7));
    assert_eq!(s.input("limit").unwrap().type_name, "integer");
    // %inputs converts to a known input's type.
    run_cell(&mut s, "%inputs limit=12", &posts);
    assert_eq!(s.input("limit").unwrap().value, json!(12));
    let out = run_cell(&mut s, "%inputs limit=many", &posts);
    assert!(error_text(&out).contains("input `limit` is integer"));

    let count = s.start_cell(true);
    let Begin::Run(job) = s.begin(
        "- name: mood\n  method: nlp.sentiment.analyze\n  params: {texts: \"{{posts.results[*].text}}\"}\n- name: posts\n  method: social.reddit.search\n  params: {query: \"{{inputs.topic}}\"}\n",
        count,
    ) else {
        panic!("expected a run")
    };
    assert_eq!(job.sources.len(), 1);
    assert_eq!(job.sources[0].name, "posts");
    assert_eq!(job.transforms[0].name, "mood");
    assert_eq!(job.results.keys().collect::<Vec<_>>(), ["tweets"]);
}

#[test]
fn failures_and_interrupts_keep_the_session() {
    let mut s = session();
    run_cell(&mut s, "%inputs topic=rust", &posts);
    run_cell(&mut s, TWEETS, &posts);
    let before = s.step("tweets").unwrap().text.clone();
    let count = s.start_cell(true);
    let changed = TWEETS.replace("limit: 5", "limit: 9");
    let Begin::Run(job) = s.begin(&changed, count) else {
        panic!()
    };
    let out = s.finish(
        job,
        &outcome(
            vec![report(
                "tweets",
                "social.twitter.search",
                StepStatus::Failed,
                3,
                Some("HTTP 503 (after 3 attempts)"),
            )],
            &posts,
        ),
        count,
    );
    let text = error_text(&out);
    assert!(
        text.starts_with("StepFailed: step `tweets` failed: HTTP 503"),
        "{text}"
    );
    assert_eq!(s.step("tweets").unwrap().text, before);

    let count = s.start_cell(true);
    let Begin::Run(job) = s.begin(MOOD, count) else {
        panic!()
    };
    let out = s.finish(
        job,
        &outcome(
            vec![report(
                "mood",
                "nlp.sentiment.analyze",
                StepStatus::Cancelled,
                1,
                None,
            )],
            &posts,
        ),
        count,
    );
    assert_eq!(out.error.as_ref().unwrap().ename, "Interrupted");
    assert!(s.step("mood").is_none());
    assert!(s.step("tweets").is_some());
    assert_eq!(s.input("topic").unwrap().value, json!("rust"));
}

#[test]
fn export_writes_a_pipeline_the_linter_accepts() {
    let mut s = session();
    assert_eq!(
        s.export("x.odp.yaml").unwrap_err().ename,
        "ExportError",
        "nothing to export yet"
    );
    run_cell(&mut s, "%inputs topic=rust unused=1", &posts);
    run_cell(&mut s, TWEETS, &posts);
    run_cell(
        &mut s,
        "# a source only looked at\nname: posts\nmethod: social.reddit.search\nparams: {query: \"{{inputs.topic}}\"}\n",
        &posts,
    );
    run_cell(&mut s, MOOD, &|_| json!({"results": [], "summary": {}}));
    // Redefined later to use a step defined after it: the export puts it after that step.
    run_cell(
        &mut s,
        "name: top\nmethod: data.records.sort\nparams:\n  records: \"{{tweets.results}}\"\n  field: created_at\n",
        &posts,
    );
    run_cell(
        &mut s,
        "name: mood\nmethod: nlp.sentiment.analyze\nparams:\n  texts: \"{{top.results[*].text}}\"   # the sorted ones\n",
        &|_| json!({"results": [], "summary": {}}),
    );
    let text = s.export("my-investigation.odp.yaml").unwrap();
    let analysis =
        odp_analysis::analyze(&text, &odp_analysis::Environment::new(&Registry::bundled()));
    assert!(
        analysis.diagnostics.is_empty(),
        "{:?}\n{text}",
        analysis.diagnostics
    );
    assert!(text.contains("name: \"my-investigation\""), "{text}");
    assert!(
        text.contains("  topic:\n    type: string\n    default: \"rust\"\n"),
        "{text}"
    );
    assert!(
        !text.contains("  unused:"),
        "inputs no step uses are left out: {text}"
    );
    let top = text.find("- name: top").unwrap();
    let mood = text.find("- name: mood").unwrap();
    assert!(top < mood, "{text}");
    assert!(text.contains("# the sorted ones"), "{text}");
    assert!(
        text.contains("  # odp: ignore[unused-source]"),
        "the source no transform uses is marked: {text}"
    );
    // The session goes to disk with %export.
    let dir = tempfile::tempdir().unwrap();
    let mut s2 = Session::new(Registry::bundled(), dir.path().to_path_buf());
    run_cell(&mut s2, "%inputs topic=rust", &posts);
    run_cell(&mut s2, TWEETS, &posts);
    let out = run_cell(&mut s2, "%export flow.odp.yaml", &posts);
    assert!(out.error.is_none(), "{out:?}");
    let written = std::fs::read_to_string(dir.path().join("flow.odp.yaml")).unwrap();
    assert!(written.contains("method: social.twitter.search"));
    // %reset forgets everything.
    run_cell(&mut s2, "%reset", &posts);
    assert!(s2.steps().is_empty() && s2.inputs().is_empty());
}

#[test]
fn completion_offers_the_live_results_fields() {
    let mut s = session();
    run_cell(
        &mut s,
        "name: shaped\nmethod: data.custom.transform\nparams:\n  input: {alpha: 1, beta: [x]}\n  expression: \".\"\n",
        &|_| json!({"output": {"alpha": 1, "beta": ["x"]}}),
    );
    let code = "name: m\nmethod: data.custom.transform\nparams:\n  input: \"{{shaped.output.";
    let c = s.complete(code, code.len());
    assert_eq!(c.matches, ["alpha", "beta"]);
    assert_eq!((c.start, c.end), (code.len(), code.len()));
    let code = "name: m\nmethod: data.custom.transform\nparams:\n  input: \"{{shaped.output.al";
    let c = s.complete(code, code.len());
    assert_eq!(c.matches, ["alpha"]);
    assert_eq!(c.start, code.len() - 2);
    // Methods, keys and magics.
    let code = "name: t\nmethod: social.twitter.se";
    assert_eq!(
        s.complete(code, code.len()).matches,
        ["social.twitter.search"]
    );
    let code = "name: t\nmethod: social.twitter.search\nparams:\n  qu";
    assert_eq!(s.complete(code, code.len()).matches, ["query: "]);
    let code = "name: t\nmethod: social.twitter.search\nparams:\n  query: \"{{";
    assert_eq!(s.complete(code, code.len()).matches, ["inputs"]);
    assert_eq!(s.complete("%reg", 4).matches, ["%registry"]);
    let c = s.complete("%registry nlp.sent", 18);
    assert_eq!(c.matches, ["nlp.sentiment.analyze"]);
    assert_eq!(c.start, 10);
}

#[test]
fn inspect_and_completeness() {
    let mut s = session();
    let code = "name: mood\nmethod: nlp.sentiment.analyze";
    let md = s.inspect(code, code.len()).unwrap();
    assert!(
        md.starts_with("**nlp.sentiment.analyze** (transform)"),
        "{md}"
    );
    assert!(s.inspect("%registry", 3).unwrap().contains("%registry"));
    assert!(s.inspect("name: zzz", 8).is_none());

    assert_eq!(
        s.is_complete("name: x\nmethod: y\n").0,
        Completeness::Complete
    );
    assert_eq!(s.is_complete("%steps").0, Completeness::Complete);
    assert_eq!(s.is_complete("").0, Completeness::Complete);
    assert_eq!(
        s.is_complete("name: x\nparams:"),
        (Completeness::Incomplete, "  ".into())
    );
    assert_eq!(
        s.is_complete("params: {query: [1, 2").0,
        Completeness::Incomplete
    );
    assert_eq!(
        s.is_complete("name: \"unclosed").0,
        Completeness::Incomplete
    );
    assert_eq!(
        s.is_complete("name: x\n\tmethod: y").0,
        Completeness::Invalid
    );

    // History keeps the cells in order.
    run_cell(&mut s, "%echo one", &posts);
    run_cell(&mut s, "%echo two", &posts);
    let lines: Vec<(usize, &str)> = s
        .history()
        .iter()
        .map(|h| (h.line, h.input.as_str()))
        .collect();
    assert_eq!(lines, [(1, "%echo one"), (2, "%echo two")]);
}

#[test]
fn magics() {
    let mut s = session();
    let out = run_cell(&mut s, "%echo hello, world", &posts);
    assert_eq!(out.outputs, [Output::Stdout("hello, world\n".into())]);
    let out = run_cell(&mut s, "%registry sentiment", &posts);
    let Output::Display(b) = &out.outputs[0] else {
        panic!("{out:?}")
    };
    let html = b["text/html"].as_str().unwrap();
    assert!(html.contains("nlp.sentiment.analyze"), "{html}");
    assert!(!html.contains("social.twitter.search"), "{html}");
    let out = run_cell(&mut s, "%registry nlp.summary.generate", &posts);
    let Output::Display(b) = &out.outputs[0] else {
        panic!()
    };
    assert!(b["text/markdown"].as_str().unwrap().contains("| param |"));
    let out = run_cell(&mut s, "%explain ODP405", &posts);
    assert!(
        out.pages[0]["text/plain"]
            .as_str()
            .unwrap()
            .starts_with("ODP405 (unknown-field)")
    );
    let out = run_cell(&mut s, "%nope", &posts);
    assert!(error_text(&out).contains("unknown magic `%nope`"));
    // `%%draft` takes the rest of the cell as its request, with the session's steps and inputs in scope.
    let count = s.start_cell(true);
    let Begin::Draft(job) = s.begin("%echo hi\n%%draft tweets\nabout rust\n", count) else {
        panic!("not a draft")
    };
    assert_eq!(job.request, "tweets\nabout rust");
    assert_eq!(job.before.outputs, [Output::Stdout("hi\n".into())]);
    s.end_cell(count, "%%draft", String::new(), true);
    let out = run_cell(&mut s, "%%draft   \n  ", &posts);
    assert!(error_text(&out).contains("%%draft needs a request"));
    let out = run_cell(&mut s, "%show tweets", &posts);
    assert!(error_text(&out).contains("the session has no steps yet"));
    let out = run_cell(&mut s, "%clear", &posts);
    assert_eq!(out.outputs, [Output::Clear]);
    // Magic lines may precede the YAML of the same cell.
    let out = run_cell(
        &mut s,
        &format!("%inputs topic=\"rust lang\"\n{TWEETS}"),
        &posts,
    );
    assert!(out.error.is_none(), "{out:?}");
    assert_eq!(s.input("topic").unwrap().value, json!("rust lang"));
    assert!(s.step("tweets").is_some());
    let out = run_cell(&mut s, "%show tweets", &posts);
    let Some(Output::Result(b)) = out.outputs.first() else {
        panic!("{out:?}")
    };
    assert_eq!(b[crate::mime::RESULT_MIME], posts("tweets"));
    assert_eq!(s.complete("%show tw", 8).matches, ["tweets"]);
}

#[test]
fn assignments_and_globs() {
    assert_eq!(
        parse_assignments("a=1 b=\"x y\" c=[1, 2] d=true e=text f='7'").unwrap(),
        vec![
            ("a".into(), json!(1), false),
            ("b".into(), json!("x y"), true),
            ("c".into(), json!([1, 2]), false),
            ("d".into(), json!(true), false),
            ("e".into(), json!("text"), false),
            ("f".into(), json!("7"), true),
        ]
    );
    assert!(parse_assignments("novalue").is_err());
    assert!(glob_match("%inputs*", "%inputs greeting=hello"));
    assert!(glob_match("1?2*", "1+2+3"));
    assert!(!glob_match("%inputs*", "%echo x"));
    assert_eq!(char_to_byte("é{{", 1), 2);
    assert_eq!(byte_to_char("é{{", 2), 1);
    let _ = Arc::new(0);
}

/// No control character but the line breaks between traceback lines reaches Jupyter, which interprets escape
/// sequences in tracebacks.
fn assert_escaped(text: &str) {
    assert!(
        !text.contains(|c: char| odp_analysis::escape::must_escape(c) && c != '\n'),
        "{text:?}"
    );
    assert!(text.contains("\\u{1b}[31m"), "{text}");
}

#[test]
fn errors_escape_control_characters_from_the_cell_and_the_services() {
    let mut s = session();
    // A checker error quoting a key of the cell (decoded from a quoted key's escapes).
    let cell = "name: tweets\nmethod: social.twitter.search\nparams:\n  query: ai\n  \"a\\e[31mRED\\r\\n::error::x\": 1\n";
    let out = run_cell(&mut s, cell, &posts);
    let text = error_text(&out);
    assert!(
        text.starts_with("CheckError: the cell has 1 error"),
        "{text}"
    );
    assert_escaped(&text);
    // A magic's usage error quoting the cell.
    let out = run_cell(&mut s, "%inputs \u{1b}[31mred", &posts);
    assert_escaped(&error_text(&out));
    // A service's error.
    let count = s.start_cell(true);
    let Begin::Run(job) = s.begin(&TWEETS.replace("\"{{inputs.topic}}\"", "ai"), count) else {
        panic!("expected a run")
    };
    let out = s.finish(
        job,
        &outcome(
            vec![report(
                "tweets",
                "social.twitter.search",
                StepStatus::Failed,
                1,
                Some("HTTP 500: \u{1b}[31mboom\r"),
            )],
            &posts,
        ),
        count,
    );
    let text = error_text(&out);
    assert!(
        text.starts_with("StepFailed: step `tweets` failed: HTTP 500"),
        "{text}"
    );
    assert_escaped(&text);
}

#[test]
fn the_request_is_the_rest_of_the_cell() {
    assert_eq!(
        request_of("%%draft tweets about rust").as_deref(),
        Some("tweets about rust")
    );
    assert_eq!(
        request_of("%%draft\ntweets\nand mood\n").as_deref(),
        Some("tweets\nand mood")
    );
    assert_eq!(request_of("%%draft  ").as_deref(), Some(""));
    assert_eq!(request_of("%%drafts x"), None);
    assert_eq!(request_of("%echo x"), None);
}

#[test]
fn an_indentation_error_counts_the_cells_own_columns() {
    let mut s = session();
    // One step (wrapped with 4 columns in front), a list (2 columns) and a pipeline (none): the message counts
    // the spaces written in the cell.
    for code in [
        "name: x\nmethod: social.twitter.search\nparams:\n  query: rust\n   limit: 5\n",
        "- name: x\n  method: social.twitter.search\n  params:\n    query: rust\n     limit: 5\n",
        "sources:\n  - name: x\n    method: social.twitter.search\n    params:\n      query: rust\n       limit: 5\n",
    ] {
        let out = run_cell(&mut s, code, &posts);
        let text = error_text(&out);
        let (ind, before) = match code.chars().next() {
            Some('n') => (3, 2),
            Some('-') => (5, 4),
            _ => (7, 6),
        };
        assert!(
            text.contains(&format!(
                "this key is indented by {ind} spaces, the keys before it by {before}; align them"
            )),
            "{code}\n{text}"
        );
    }
}

/// Runs a cell whose steps end as `status(name)` says.
fn run_cell_ending(s: &mut Session, code: &str, status: &dyn Fn(&str) -> StepStatus) -> CellOutput {
    let count = s.start_cell(true);
    let Begin::Run(job) = s.begin(code, count) else {
        panic!("nothing to run in {code}")
    };
    let runs = job
        .sources
        .iter()
        .chain(&job.transforms)
        .map(|p| report(&p.name, &p.method, status(&p.name), 1, None))
        .collect();
    let out = s.finish(job, &outcome(runs, &posts), count);
    s.end_cell(count, code, out.result_text(), true);
    out
}

#[test]
fn graph_shows_each_steps_last_run() {
    let mut s = session();
    let out = run_cell(&mut s, "%graph", &posts);
    assert_eq!(
        out.outputs,
        vec![Output::Display(
            [(
                "text/plain".to_string(),
                json!("no steps yet: run a cell with a step, then %graph\n")
            )]
            .into_iter()
            .collect()
        )]
    );
    run_cell(&mut s, "%inputs topic=rust", &posts);
    run_cell(&mut s, TWEETS, &posts);
    run_cell_ending(&mut s, MOOD, &|_| StepStatus::Failed);
    let summary = "name: summary\nmethod: nlp.summary.generate\nparams:\n  texts: \"{{tweets.results[*].text}}\"\n";
    run_cell_ending(&mut s, summary, &|_| StepStatus::Skipped);
    // The source fails on its second run: its last status is "failed", though its first result stays.
    run_cell_ending(&mut s, TWEETS, &|_| StepStatus::Failed);
    let out = run_cell(&mut s, "%graph", &posts);
    let [Output::Display(bundle)] = &out.outputs[..] else {
        panic!("{out:?}")
    };
    expect_test::expect![[r##"
        flowchart LR
          %% pipeline notebook session
          n0(["topic<br/>string"])
          n1["tweets<br/>social.twitter.search<br/>failed"]
          n2("mood<br/>nlp.sentiment.analyze<br/>failed")
          n3("summary<br/>nlp.summary.generate<br/>not run")
          n0 --> n1
          n1 -->|"results[*].text"| n2
          n1 -->|"results[*].text"| n3
          classDef input fill:#eef1f5,stroke:#6b7a90,color:#1f2937
          class n0 input
          classDef source fill:#e3effc,stroke:#2f6db5,color:#1f2937
          class n1 source
          classDef transform fill:#e6f4ea,stroke:#2f8a4c,color:#1f2937
          class n2,n3 transform
          classDef failed fill:#fdecec,stroke:#c62828,stroke-width:3px,color:#8e1c1c
          class n1,n2 failed
          classDef notrun stroke-dasharray:2 3,color:#6b7280
          class n3 notrun
    "##]]
    .assert_eq(bundle["text/plain"].as_str().unwrap());
    let svg = bundle["image/svg+xml"].as_str().unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    for name in ["topic", "tweets", "mood", "summary", "not run"] {
        assert!(svg.contains(&format!(">{name}<")), "{name} in {svg}");
    }
    // After a successful run again: ok.
    run_cell(&mut s, TWEETS, &posts);
    let graph = s.graph();
    assert_eq!(graph.nodes[1].run, Some(odp_graph::RunStatus::Ok));
    run_cell(&mut s, "%reset", &posts);
    assert!(s.graph().nodes.is_empty());
}
