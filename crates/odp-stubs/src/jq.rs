//! `data.custom.transform`: the jq expression evaluated with jaq, in a child process.
//!
//! jaq has no fuel or depth limit: `def f: 1+f; f` overflows the stack of the process that evaluates it, and the
//! stubs run inside `odp run`, the kernel and (later) the language server. So the stub server never evaluates an
//! expression itself: it re-invokes the current executable as `<exe> __jq_eval` (with [`CHILD_ENV`] set and an
//! otherwise empty environment), sends `{expression, input}` on stdin and reads the answer from stdout. The child
//! limits the growth of its address space to [`MEMORY_LIMIT`] and evaluates on a thread with a [`STACK_SIZE`] stack, so a runaway
//! expression ends in the child's death; the parent kills it after the timeout (10 s by default, see
//! [`DEFAULT_TIMEOUT`]). Every binary that hosts the stubs must call [`child_main`] first thing in `main`.
//!
//! What expressions cannot do: read the environment (`env`, `$ENV`; the API keys are there), read inputs
//! (`input`, `inputs`), write to stderr (`debug`, `stderr`), stop the process (`halt`, `halt_error`) or read
//! files (`include`, `import`). None of these is defined, so jaq reports an undefined name and the call is a
//! `400`.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// The id of the method evaluated here.
pub const METHOD: &str = "data.custom.transform";

/// The hidden subcommand (`argv[1]`) that makes a binary hosting the stubs evaluate one expression. An
/// identifier, so that a libtest test binary, which takes it as a test name filter, runs exactly the test named
/// `__jq_eval` (see [`child_main`]).
pub const SUBCOMMAND: &str = "__jq_eval";

/// Set to `1` in the child's environment, together with [`SUBCOMMAND`]; a user typing `odp __jq_eval` gets the
/// usual "unrecognized subcommand".
pub const CHILD_ENV: &str = "ODP_STUBS_JQ_CHILD";

/// How long an expression may run. The bundled registry says "stopped after 10 seconds" in the description of
/// `data.custom.transform`; a registry entry has no timeout field to read it from.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The child's address space may grow by this much beyond what it maps at start (`RLIMIT_AS`): an expression
/// that builds ever larger values dies here.
pub const MEMORY_LIMIT: u64 = 512 << 20;

/// For hosts that use mimalloc (`odp` does): it reserves address space in arenas of 1 GiB by default, which
/// would let an expression use a whole arena unlimited; smaller arenas keep the growth under the limit. Other
/// allocators ignore the variable.
const MIMALLOC_ARENA_RESERVE: (&str, &str) = ("MIMALLOC_ARENA_RESERVE", "16MiB");

/// The evaluation thread's stack: deep enough for real expressions; runaway recursion overflows it and the child
/// aborts.
pub const STACK_SIZE: usize = 64 << 20;

/// Written by the child before its answer, so that whatever a host prints first (libtest's "running 1 test")
/// is skipped, and a host that never called [`child_main`] is recognised.
const MARKER: &str = "\u{1e}odp-jq-answer:";

#[derive(Serialize, Deserialize)]
struct Request {
    expression: String,
    input: Value,
    /// The child's CPU-time limit (`RLIMIT_CPU`): the timeout, rounded up, plus a second. The parent kills the
    /// child at the timeout; this stops an orphan whose parent was killed before it could.
    cpu_seconds: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Ok(Value),
    Error(String),
}

/// A call the stub refuses: the status and the message of the error body.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    fn bad_request(message: impl Into<String>) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn internal(message: impl Into<String>) -> Refusal {
        Refusal {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The child
// ---------------------------------------------------------------------------------------------------------------

/// Call this first thing in `main` of every binary that hosts the stubs (before a runtime or threads start).
/// When the process was started as the stubs' jq evaluator, it evaluates one expression and exits; otherwise it
/// returns at once.
///
/// A test binary that starts a [`crate::StubServer`] and calls `data.custom.transform` hosts the stubs too; it
/// calls this from a test named `__jq_eval` (the evaluator is started as `<test binary> __jq_eval`, which libtest
/// reads as a filter that selects that one test):
///
/// ```ignore
/// #[test]
/// fn __jq_eval() {
///     odp_stubs::jq::child_main();
/// }
/// ```
pub fn child_main() {
    let invoked = std::env::args_os().nth(1).is_some_and(|a| a == SUBCOMMAND)
        && std::env::var_os(CHILD_ENV).is_some_and(|v| v == "1");
    if invoked {
        let answer = run_child();
        let mut out = std::io::stdout().lock();
        let text = serde_json::to_string(&answer).unwrap_or_else(|e| {
            serde_json::to_string(&Answer::Error(format!("cannot write the result: {e}")))
                .unwrap_or_default()
        });
        let _ = writeln!(out, "{MARKER}{text}");
        let _ = out.flush();
        std::process::exit(0);
    }
}

fn run_child() -> Answer {
    limit_memory();
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        return Answer::Error(format!("cannot read the request: {e}"));
    }
    let request: Request = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => return Answer::Error(format!("invalid request: {e}")),
    };
    limit_cpu(request.cpu_seconds);
    let worker = std::thread::Builder::new()
        .name("jq".into())
        .stack_size(STACK_SIZE)
        .spawn(move || evaluate(&request.expression, &request.input));
    match worker.map(|w| w.join()) {
        Ok(Ok(Ok(value))) => Answer::Ok(value),
        Ok(Ok(Err(message))) => Answer::Error(message),
        Ok(Err(_panic)) => Answer::Error("the jq evaluator failed on this expression".into()),
        Err(e) => Answer::Error(format!("cannot start the jq evaluator: {e}")),
    }
}

#[cfg(unix)]
fn limit_memory() {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let limit = mapped_at_start().unwrap_or(0) + MEMORY_LIMIT;
    let limit = Rlimit {
        current: Some(limit),
        maximum: Some(limit),
    };
    // Only this (child) process is limited. Should the call fail, the parent's timeout still stops the child.
    let _ = setrlimit(Resource::As, limit);
}

/// The address space the process maps before evaluating (the executable, its libraries, the allocator's first
/// arena): `VmSize` of `/proc/self/status` (Linux; elsewhere the limit is [`MEMORY_LIMIT`] in all).
#[cfg(unix)]
fn mapped_at_start() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmSize:"))?;
    let kib: u64 = line
        .trim_start_matches("VmSize:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(unix)]
fn limit_cpu(seconds: u64) {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let limit = Rlimit {
        current: Some(seconds),
        maximum: Some(seconds + 1),
    };
    let _ = setrlimit(Resource::Cpu, limit);
}

#[cfg(not(unix))]
fn limit_memory() {}

#[cfg(not(unix))]
fn limit_cpu(_seconds: u64) {}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation (in the child; in-process only in unit tests)
// ---------------------------------------------------------------------------------------------------------------

/// Native filters left out: they read the environment, write to stderr or stop the process.
const REFUSED_FUNS: &[&str] = &[
    "env",
    "halt",
    "debug_empty",
    "stderr_empty",
    "input",
    "inputs",
];
/// Definitions left out: they are built on the refused native filters.
const REFUSED_DEFS: &[&str] = &["debug", "stderr", "halt", "halt_error", "input", "inputs"];

/// Evaluates `expression` over `input`: its one output, which must be an object; otherwise a message saying
/// what went wrong (with the position of a syntax error or an undefined name).
pub(crate) fn evaluate(expression: &str, input: &Value) -> Result<Value, String> {
    use jaq_core::load::{Arena, File, Loader};
    use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
    use jaq_json::Val;

    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs())
        .filter(|d| !REFUSED_DEFS.contains(&d.name));
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, _, _)| !REFUSED_FUNS.contains(name));
    let arena = Arena::default();
    // The default reader of `Loader::new` refuses `include` and `import`: no file is ever read.
    let loader = Loader::new(defs);
    let file = File {
        code: expression,
        path: (),
    };
    let modules = loader
        .load(&arena, file)
        .map_err(|errors| load_errors(expression, errors))?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| compile_errors(expression, errors))?;

    let input_text = serde_json::to_vec(input).map_err(|e| e.to_string())?;
    let input = jaq_json::read::parse_single(&input_text)
        .map_err(|e| format!("the input is not JSON jq can read: {e}"))?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut outputs = filter.id.run((ctx, input)).map(unwrap_valr);
    let first = match outputs.next() {
        None => {
            return Err(
                "the expression produced no output; it must produce one JSON object".into(),
            );
        }
        Some(Err(e)) => return Err(format!("the expression failed: {e}")),
        Some(Ok(v)) => v,
    };
    match outputs.next() {
        None => {}
        Some(Err(e)) => return Err(format!("the expression failed after its first output: {e}")),
        Some(Ok(_)) => {
            return Err(
                "the expression produced several outputs; it must produce one JSON object (collect them \
                 with [...] or {key: [...]})"
                    .into(),
            );
        }
    }
    // jaq prints valid JSON exactly when the value has a JSON equivalent (not for NaN, byte strings, ...).
    let value: Value = serde_json::from_str(&first.to_string())
        .map_err(|e| format!("the expression's result is not JSON: {e}"))?;
    if !value.is_object() {
        let kind = match &value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        return Err(format!(
            "the expression's result is {kind}, not a JSON object (wrap it, e.g. {{result: ...}})"
        ));
    }
    Ok(value)
}

/// `line:column` (1-based, columns in characters) of a slice of `code`.
fn position(code: &str, at: &str) -> String {
    let offset = (at.as_ptr() as usize)
        .checked_sub(code.as_ptr() as usize)
        .filter(|o| *o <= code.len())
        .unwrap_or(code.len());
    let before = code.get(..offset).unwrap_or(code);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("{line}:{column}")
}

fn found(at: &str) -> String {
    match at.chars().next() {
        None => "the end of the expression".into(),
        Some(_) => {
            let token: String = at.chars().take(20).collect();
            format!("`{token}`")
        }
    }
}

fn load_errors(code: &str, errors: jaq_core::load::Errors<&str, ()>) -> String {
    use jaq_core::load::Error;
    let mut messages = Vec::new();
    for (_, error) in errors {
        match error {
            Error::Io(items) => {
                for (path, _) in items {
                    messages.push(format!(
                        "at {}: modules cannot be loaded (`{path}`)",
                        position(code, path)
                    ));
                }
            }
            Error::Lex(items) => {
                for (expected, at) in items {
                    messages.push(format!(
                        "at {}: expected {}, found {}",
                        position(code, at),
                        expected.as_str(),
                        found(at)
                    ));
                }
            }
            Error::Parse(items) => {
                for (expected, at) in items {
                    messages.push(format!(
                        "at {}: expected {}, found {}",
                        position(code, at),
                        expected.as_str(),
                        found(at)
                    ));
                }
            }
        }
    }
    format!("jq syntax error {}", messages.join("; "))
}

fn compile_errors(code: &str, errors: jaq_core::compile::Errors<&str, ()>) -> String {
    use jaq_core::compile::Undefined;
    let mut messages = Vec::new();
    for (_, items) in errors {
        for (name, undefined) in items {
            let what = match undefined {
                Undefined::Filter(arity) => format!("filter `{name}/{arity}`"),
                other => format!("{} `{name}`", other.as_str()),
            };
            messages.push(format!("at {}: undefined {what}", position(code, name)));
        }
    }
    format!(
        "jq error {} (environment, input, debug output, halting and modules are not available)",
        messages.join("; ")
    )
}

// ---------------------------------------------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------------------------------------------

/// The answer to a `data.custom.transform` call with valid params.
pub(crate) async fn transform(params: &Value, timeout: Duration) -> Result<Value, Refusal> {
    let engine = params.get("engine").and_then(Value::as_str).unwrap_or("jq");
    if engine != "jq" {
        return Err(Refusal::bad_request(format!(
            "engine {engine} is not supported by the built-in stubs (only jq is)"
        )));
    }
    let request = Request {
        expression: params
            .get("expression")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        input: params.get("input").cloned().unwrap_or(Value::Null),
        cpu_seconds: timeout.as_secs() + 2,
    };
    let body = serde_json::to_vec(&request).map_err(|e| Refusal::internal(e.to_string()))?;
    let exe = std::env::current_exe()
        .map_err(|e| Refusal::internal(format!("cannot find the jq evaluator: {e}")))?;
    let mut child = tokio::process::Command::new(&exe)
        .arg(SUBCOMMAND)
        .env_clear()
        .env(CHILD_ENV, "1")
        .env(MIMALLOC_ARENA_RESERVE.0, MIMALLOC_ARENA_RESERVE.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            Refusal::internal(format!(
                "cannot start the jq evaluator {}: {e}",
                exe.display()
            ))
        })?;
    let mut stdin = child.stdin.take();
    let run = async move {
        if let Some(stdin) = stdin.as_mut() {
            // A child that died early closes its stdin; its exit status tells why.
            let _ = stdin.write_all(&body).await;
        }
        drop(stdin);
        child.wait_with_output().await
    };
    // On timeout the future is dropped with the child, which `kill_on_drop` kills.
    let output = match tokio::time::timeout(timeout, run).await {
        Err(_) => {
            return Err(Refusal::bad_request(format!(
                "the expression did not finish within {} and was stopped",
                humantime::format_duration(timeout)
            )));
        }
        Ok(Err(e)) => return Err(Refusal::internal(format!("the jq evaluator failed: {e}"))),
        Ok(Ok(output)) => output,
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if let Some((_, text)) = stdout.rsplit_once(MARKER) {
        return match serde_json::from_str::<Answer>(text.trim_end()) {
            Ok(Answer::Ok(value)) => Ok(value),
            Ok(Answer::Error(message)) => Err(Refusal::bad_request(message)),
            Err(e) => Err(Refusal::internal(format!(
                "the jq evaluator's answer is not readable: {e}"
            ))),
        };
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The evaluator only ends without an answer when it is killed (a signal: stack overflow and allocation
    // failure abort). An ordinary exit means the host never called `child_main`: `odp` without it says
    // "unrecognized subcommand" and exits with 2, a test binary runs no test and exits with 0.
    if output.status.code().is_some() {
        return Err(Refusal::internal(format!(
            "{} did not evaluate the expression: a program hosting the stubs must call \
             odp_stubs::jq::child_main() first thing in main",
            exe.display()
        )));
    }
    let why = if stderr.contains("overflowed its stack") {
        "ran out of stack (too deep recursion)".to_string()
    } else if stderr.contains("memory allocation") || stderr.contains("out of memory") {
        format!("ran out of memory (limit {} MiB)", MEMORY_LIMIT >> 20)
    } else {
        format!("stopped the evaluator ({})", output.status)
    };
    tracing::info!(method = METHOD, status = %output.status, "the jq evaluator died");
    Err(Refusal::bad_request(format!("the expression {why}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::evaluate;

    #[test]
    fn reshapes_its_input() {
        let input = json!([{"name": "Battery", "n": 3}, {"name": "Range", "n": 1}]);
        assert_eq!(
            evaluate("{rows: [.[] | {label: .name}]}", &input),
            Ok(json!({"rows": [{"label": "Battery"}, {"label": "Range"}]}))
        );
        // The standard library is there: map, join, slices, sort_by.
        assert_eq!(
            evaluate(
                "{top: (sort_by(.n) | map(.name) | join(\", \")), first: .[0:1][0].n}",
                &input
            ),
            Ok(json!({"top": "Range, Battery", "first": 3}))
        );
    }

    #[test]
    fn a_syntax_error_has_its_position() {
        let e = evaluate("{rows: [.[] | {label: .name}]", &json!([])).unwrap_err();
        assert!(e.starts_with("jq syntax error at 1:30"), "{e}");
        assert!(e.contains("closing brace"), "{e}");
        let e = evaluate(".a |\n  | .b", &json!({})).unwrap_err();
        assert!(e.starts_with("jq syntax error at 2:3"), "{e}");
    }

    #[test]
    fn environment_input_debug_halt_and_files_are_undefined() {
        for (expression, name) in [
            ("{e: $ENV}", "variable `$ENV`"),
            ("{e: env}", "filter `env/0`"),
            ("{e: input}", "filter `input/0`"),
            ("{e: [inputs]}", "filter `inputs/0`"),
            ("{e: debug}", "filter `debug/0`"),
            ("{e: debug(1)}", "filter `debug/1`"),
            ("{e: stderr}", "filter `stderr/0`"),
            ("{e: halt}", "filter `halt/0`"),
            ("{e: halt_error}", "filter `halt_error/0`"),
            ("{e: $__loc__}", "variable `$__loc__`"),
        ] {
            let e = evaluate(expression, &json!({})).unwrap_err();
            assert!(
                e.contains(&format!("undefined {name}")),
                "{expression}: {e}"
            );
        }
        let e = evaluate("include \"x\"; {}", &json!({})).unwrap_err();
        assert!(e.contains("modules cannot be loaded"), "{e}");
    }

    #[test]
    fn the_result_is_exactly_one_object() {
        let e = evaluate(".[]", &json!([])).unwrap_err();
        assert!(e.contains("no output"), "{e}");
        let e = evaluate(".[]", &json!([{}, {}])).unwrap_err();
        assert!(e.contains("several outputs"), "{e}");
        let e = evaluate("repeat({})", &json!(null)).unwrap_err();
        assert!(e.contains("several outputs"), "{e}");
        let e = evaluate("map(.label)", &json!([{"label": "a"}])).unwrap_err();
        assert!(e.contains("is an array, not a JSON object"), "{e}");
        let e = evaluate(".", &json!(3)).unwrap_err();
        assert!(e.contains("is a number, not a JSON object"), "{e}");
        let e = evaluate("{a: (.x | error)}", &json!({"x": "boom"})).unwrap_err();
        assert!(
            e.contains("the expression failed") && e.contains("boom"),
            "{e}"
        );
    }
}
