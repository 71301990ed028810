//! The evcxr side of Rust cells: one `CommandContext` per kernel session, created on the first `%%rust` cell, so
//! Rust variables, items and `:dep`s live from cell to cell. evcxr compiles each cell with cargo and runs it in a
//! child process (this same binary, which is why `evcxr::runtime_hook()` is the first call in `odp`'s `main`).
//!
//! - Outputs: the child's stdout and stderr go out as streams while the cell runs; the cell's final expression is
//!   its result.
//! - Errors: compile errors are rendered as evcxr_jupyter renders them (ariadne reports with the cell's lines); a
//!   panic ends the child process (variables are not kept over a panic: `:preserve_vars_on_panic 0`, which also
//!   spares a build per cell); an interrupt kills it. evcxr then starts a new child: the Rust variables are gone,
//!   the session's results stay, and the next cell's prelude binds them again.
//! - Build cache: evcxr's own (`:cache`), under `$XDG_CACHE_HOME/evcxr` (default `~/.cache/evcxr`), outside any
//!   clone, so a new session does not compile serde and serde_json again; its size is `ODP_RUST_CACHE_MB` (default
//!   2048 MiB; `0` turns it off).

use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use evcxr::{CommandContext, EvalContextOutputs};
use serde_json::Value;

use super::exchange::{Exchange, PublishRecord, with_prelude};
use super::{keep_tail, panic_message, strip_ansi};
use crate::mime::Bundle;
use crate::session::{CellError, Output};

/// Which stream a line of the child's output goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What a Rust cell did.
#[derive(Debug, Default)]
pub struct Evaluated {
    /// The cell's value (its final expression), if it has one.
    pub outputs: Vec<Output>,
    pub error: Option<CellError>,
    /// What it published (empty when it failed).
    pub published: Vec<PublishRecord>,
}

struct Context {
    commands: CommandContext,
    outputs: EvalContextOutputs,
}

#[derive(Default)]
struct Inner {
    dir: Option<tempfile::TempDir>,
    exchange: Option<Exchange>,
    context: Option<Context>,
}

/// A kernel's Rust cells.
#[derive(Default)]
pub struct RustCells {
    inner: Mutex<Inner>,
    /// The child process that runs the cells' code (the same handle across evcxr's restarts of it): an interrupt
    /// kills it.
    process: Mutex<Option<Arc<Mutex<Child>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cache size evcxr is given, in MiB.
fn cache_mib() -> u64 {
    std::env::var("ODP_RUST_CACHE_MB")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2048)
}

impl RustCells {
    /// Writes the results the cell reads into the exchange directory (made on the first call). `value_of` gives a
    /// result by name (the session's).
    pub fn sync<'v>(
        &self,
        results: &[(String, u64)],
        value_of: impl Fn(&str) -> Option<&'v Value>,
    ) -> Result<(), CellError> {
        let mut inner = lock(&self.inner);
        let io = |e: std::io::Error| {
            CellError::new(
                "RustError",
                format!("cannot write the session's results for Rust: {e}"),
            )
        };
        let inner = &mut *inner;
        let exchange = match &mut inner.exchange {
            Some(exchange) => exchange,
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("odp-rust-")
                    .tempdir()
                    .map_err(io)?;
                let exchange = Exchange::create(dir.path()).map_err(io)?;
                inner.dir = Some(dir);
                inner.exchange.insert(exchange)
            }
        };
        exchange.sync(results, value_of).map_err(io)
    }

    /// Kills the process running the cell's code (an interrupt). A cell still compiling stops when its code would
    /// start.
    pub fn kill(&self) {
        if let Some(handle) = lock(&self.process).as_ref() {
            let _ = lock(handle).kill();
        }
    }

    /// Evaluates a cell ([`crate::session::RustJob::code`]): starts evcxr on the first cell, binds the results
    /// whose variables are missing or stale, runs the code with its output sent to `emit`, and reads back what it
    /// published. `interrupted` is set by [`RustCells::kill`]'s caller.
    pub fn eval(
        &self,
        code: &str,
        results: &[(String, u64)],
        label: &str,
        color: bool,
        emit: &(dyn Fn(Stream, String) + Sync),
        interrupted: &AtomicBool,
    ) -> Evaluated {
        let mut guard = lock(&self.inner);
        let inner = &mut *guard;
        let Some(exchange) = inner.exchange.as_mut() else {
            return failed(CellError::new(
                "RustError",
                "the session's results were not written for Rust",
            ));
        };
        if inner.context.is_none() {
            emit(
                Stream::Stdout,
                "odp: starting Rust (evcxr); the first cell of a session builds serde and serde_json (cached after the first time)\n".into(),
            );
            match start(exchange) {
                Ok(context) => {
                    *lock(&self.process) = Some(context.commands.process_handle());
                    inner.context = Some(context);
                }
                Err(e) => return failed(e),
            }
        }
        let Some(context) = inner.context.as_mut() else {
            return failed(CellError::new("RustError", "evcxr did not start"));
        };
        if interrupted.load(Ordering::SeqCst) {
            return failed(interrupted_error());
        }
        exchange.discard_published();
        let prelude = exchange.prelude(results);
        let code = with_prelude(code, &prelude);
        let done = AtomicBool::new(false);
        // The end of what the cell wrote to stderr: a panic's message is there (the child prints it as it ends).
        let stderr_tail = Mutex::new(String::new());
        let result = std::thread::scope(|scope| {
            let pumps = [
                (Stream::Stdout, context.outputs.stdout.clone()),
                (Stream::Stderr, context.outputs.stderr.clone()),
            ]
            .map(|(stream, rx)| {
                let (done, tail) = (&done, &stderr_tail);
                let emit = move |stream: Stream, text: String| {
                    if stream == Stream::Stderr {
                        keep_tail(&mut lock(tail), &text);
                    }
                    emit(stream, text);
                };
                scope.spawn(move || pump(stream, &rx, done, &emit))
            });
            let result = context.commands.execute(&code);
            // Let the child's last lines arrive (evcxr waits for stdout itself, not for stderr).
            std::thread::sleep(Duration::from_millis(20));
            done.store(true, Ordering::SeqCst);
            for p in pumps {
                let _ = p.join();
            }
            result
        });
        match result {
            Ok(outputs) => {
                exchange.defined(results);
                let mut out = Evaluated::default();
                if let Some(bundle) = bundle_of(outputs.content_by_mime_type) {
                    out.outputs.push(Output::Result(bundle));
                }
                match exchange.take_published() {
                    Ok(records) => out.published = records,
                    Err(e) => out.error = Some(CellError::new("PublishError", e)),
                }
                out
            }
            Err(evcxr::Error::SubprocessTerminated(message)) => {
                exchange.variables_lost();
                exchange.discard_published();
                failed(if interrupted.load(Ordering::SeqCst) {
                    interrupted_error()
                } else {
                    ended_error(&message, &lock(&stderr_tail))
                })
            }
            Err(evcxr::Error::CompilationErrors(errors)) => {
                exchange.discard_published();
                failed(compile_error(&errors, label, &code, color))
            }
            Err(other) => {
                exchange.discard_published();
                failed(CellError::new("RustError", other.to_string()))
            }
        }
    }
}

fn failed(error: CellError) -> Evaluated {
    Evaluated {
        error: Some(error),
        ..Evaluated::default()
    }
}

/// Starts evcxr for a session: no variables kept over a panic (the child ends, as on an interrupt), evcxr's build
/// cache on, and `serde`, `serde_json` and the session's `odp` crate as dependencies.
fn start(exchange: &Exchange) -> Result<Context, CellError> {
    let unavailable = |e: evcxr::Error| {
        CellError::new(
            "RustUnavailable",
            format!("evcxr could not start (Rust cells need rustc and cargo): {e}"),
        )
    };
    let (mut commands, outputs) = CommandContext::new().map_err(unavailable)?;
    let setup = format!(
        ":preserve_vars_on_panic 0\n:cache {}\n{}",
        cache_mib(),
        exchange.setup_commands()
    );
    if let Err(e) = commands.execute(&setup) {
        let detail = match &e {
            evcxr::Error::CompilationErrors(errors) => errors
                .iter()
                .map(|e| e.message())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        return Err(CellError::new(
            "RustUnavailable",
            format!(
                "the Rust cells' dependencies (serde, serde_json, odp in {}) did not build: {detail}",
                exchange.dir().display()
            ),
        ));
    }
    Ok(Context { commands, outputs })
}

/// Sends a channel's lines to `emit` until `done` is set and nothing is left, a batch at a time.
fn pump(
    stream: Stream,
    rx: &crossbeam_channel::Receiver<String>,
    done: &AtomicBool,
    emit: &(dyn Fn(Stream, String) + Sync),
) {
    loop {
        match rx.recv_timeout(Duration::from_millis(10)) {
            Ok(line) => {
                let mut text = line;
                text.push('\n');
                while let Ok(more) = rx.try_recv() {
                    text.push_str(&more);
                    text.push('\n');
                }
                emit(stream, text);
            }
            Err(_) if done.load(Ordering::SeqCst) => {
                if rx.is_empty() {
                    return;
                }
            }
            Err(_) => {}
        }
    }
}

fn interrupted_error() -> CellError {
    CellError::new(
        "Interrupted",
        "the Rust cell was interrupted: its process was stopped, so the Rust variables are lost; the session keeps its steps and results, and the next Rust cell binds them again",
    )
}

/// A child process that ended on its own: a panic (its message on stderr: the usual case) or a crash.
fn ended_error(message: &str, stderr: &str) -> CellError {
    let panic = panic_message(stderr);
    let panicked = panic.is_some() || message.contains("panicked at");
    let (ename, what) = if panicked {
        ("RustPanic", "the Rust code panicked")
    } else {
        (
            "RustProcessEnded",
            "the process running the Rust code ended",
        )
    };
    let mut e = CellError::new(
        ename,
        format!(
            "{what}: the Rust variables are lost; the session keeps its steps and results, and the next Rust cell binds them again"
        ),
    );
    if let Some(panic) = &panic {
        e.traceback.extend(
            odp_analysis::escape_control_in_lines(panic)
                .lines()
                .map(str::to_string),
        );
    }
    let detail = message.trim();
    if !detail.is_empty() {
        e.traceback.extend(
            odp_analysis::escape_control_in_lines(detail)
                .lines()
                .map(str::to_string),
        );
    }
    e
}

/// Compile errors as evcxr_jupyter shows them: an ariadne report per error in the cell's code, with its lines;
/// errors outside it by their message.
fn compile_error(
    errors: &[evcxr::CompilationError],
    label: &str,
    code: &str,
    color: bool,
) -> CellError {
    let mut traceback = Vec::new();
    for error in errors {
        let mut lines: Vec<String> = Vec::new();
        if error.is_from_user_code() {
            if let Some(report) =
                error.build_report(label.to_string(), code.to_string(), evcxr::Theme::Light)
            {
                let mut buf = Vec::new();
                if report
                    .write(
                        ariadne::sources([(label.to_string(), code.to_string())]),
                        &mut buf,
                    )
                    .is_ok()
                {
                    lines = String::from_utf8_lossy(&buf)
                        .lines()
                        .map(str::to_string)
                        .collect();
                }
            }
            if lines.is_empty() {
                for m in error.spanned_messages() {
                    lines.extend(m.lines.iter().cloned());
                    match &m.span {
                        Some(span) => lines.push(format!(
                            "{}{} {} (line {})",
                            " ".repeat(span.start_column.saturating_sub(1)),
                            "^".repeat(span.end_column.saturating_sub(span.start_column).max(1)),
                            m.label,
                            span.start_line
                        )),
                        None => lines.push(m.label.clone()),
                    }
                }
                lines.push(error.message());
                lines.extend(error.help().into_iter().map(|h| format!("help: {h}")));
            }
        } else {
            lines.push(error.message());
        }
        traceback.extend(lines);
    }
    if !color {
        traceback = traceback.iter().map(|l| strip_ansi(l)).collect();
    }
    let first = errors
        .iter()
        .find(|e| e.is_from_user_code())
        .or(errors.first())
        .map(|e| e.message())
        .unwrap_or_default();
    let line = errors
        .iter()
        .find(|e| e.is_from_user_code())
        .and_then(|e| e.primary_spanned_message())
        .and_then(|m| m.span)
        .map(|s| format!(" (line {})", s.start_line))
        .unwrap_or_default();
    CellError {
        ename: "CompileError".into(),
        evalue: odp_analysis::escape_control(&format!("{first}{line}")).into_owned(),
        traceback,
    }
}

/// The cell's value as a MIME bundle: evcxr's types, JSON ones parsed.
fn bundle_of(content: std::collections::HashMap<String, String>) -> Option<Bundle> {
    if content.is_empty() {
        return None;
    }
    let mut bundle = Bundle::new();
    let mut keys: Vec<String> = content.keys().cloned().collect();
    keys.sort();
    for k in keys {
        let v = content.get(&k).cloned().unwrap_or_default();
        let value = if k.contains("json") {
            serde_json::from_str(&v).unwrap_or(Value::String(v))
        } else {
            Value::String(v)
        };
        bundle.insert(k, value);
    }
    Some(bundle)
}
