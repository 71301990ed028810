//! AI drafts in the editor: the `odp.generateDraft` command and the `# draft: <request>` code action.
//!
//! The command runs the draft loop (odp-draft) on a thread of its own, reports `$/progress` when the client takes
//! it, and can be cancelled (`$/cancelRequest` or `window/workDoneProgress/cancel`). When the draft is done the main
//! loop checks that the document still has the version it had when the command started and only then asks the
//! client to apply the edit (`workspace/applyEdit` with `documentChanges` pinned to that version). The code action
//! only carries the command: computing code actions never calls the model.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use lsp_server::{Message, Notification, Request, RequestId};
use lsp_types as lsp;
use odp_analysis::Registry;
use odp_draft::{ConfigError, DraftError, DraftOutcome, DraftSettings, Drafter, Progress};
use odp_syntax::PositionEncoding;
use odp_workspace::DraftSection;
use ropey::Rope;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::document::offset_to_position;

/// The command id (also advertised in `executeCommandProvider`).
pub(crate) const COMMAND: &str = "odp.generateDraft";

/// Where a finished draft goes: a range of one version of one document.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub uri: lsp::Uri,
    pub version: i32,
    pub range: lsp::Range,
}

pub(crate) enum DraftResult {
    Done(Box<DraftOutcome>),
    Failed(DraftFailure),
    Cancelled,
}

/// Why a draft the command started came to nothing (its text is the command's error).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DraftFailure {
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Draft(#[from] DraftError),
}

/// A draft that finished (or failed, or was cancelled), sent to the main loop.
pub(crate) struct DraftDone {
    pub id: RequestId,
    pub target: Option<Target>,
    pub result: DraftResult,
}

struct Running {
    cancel: CancellationToken,
    token: Option<lsp::ProgressToken>,
}

/// The drafts in flight and the edits waiting for the client's answer.
#[derive(Default)]
pub(crate) struct Drafts {
    running: HashMap<RequestId, Running>,
    /// Our `workspace/applyEdit` request id → the command's request id and its result.
    pending_edits: HashMap<RequestId, (RequestId, Value)>,
    next: u64,
}

impl Drafts {
    fn next_id(&mut self, what: &str) -> String {
        self.next += 1;
        format!("odp-draft-{what}-{}", self.next)
    }

    /// Cancels the draft started by this request, if one runs. Returns whether it did.
    pub fn cancel_request(&mut self, id: &RequestId) -> bool {
        match self.running.get(id) {
            Some(r) => {
                r.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels the draft reporting progress under this token.
    pub fn cancel_token(&mut self, token: &lsp::ProgressToken) {
        for r in self.running.values() {
            if r.token.as_ref() == Some(token) {
                r.cancel.cancel();
            }
        }
    }

    pub fn cancel_all(&mut self) {
        for r in self.running.values() {
            r.cancel.cancel();
        }
    }

    pub fn finished(&mut self, id: &RequestId) {
        self.running.remove(id);
    }

    /// Remembers an edit sent for `request`; returns the id of the `workspace/applyEdit` request to send.
    pub fn edit_sent(&mut self, request: RequestId, result: Value) -> RequestId {
        let id = RequestId::from(self.next_id("edit"));
        self.pending_edits.insert(id.clone(), (request, result));
        id
    }

    /// The command request and result an `applyEdit` answer belongs to.
    pub fn edit_answered(&mut self, id: &RequestId) -> Option<(RequestId, Value)> {
        self.pending_edits.remove(id)
    }
}

/// The arguments: `{uri, request, range?}`, or just the request as a string.
pub(crate) struct CommandArgs {
    pub request: String,
    pub uri: Option<lsp::Uri>,
    pub range: Option<lsp::Range>,
}

pub(crate) fn parse_args(arguments: &[Value]) -> Result<CommandArgs, String> {
    let usage =
        "odp.generateDraft takes {\"uri\": ..., \"request\": ...} or the request as a string";
    let first = arguments.first().ok_or(usage)?;
    let args = match first {
        Value::String(s) => CommandArgs {
            request: s.clone(),
            uri: None,
            range: None,
        },
        Value::Object(obj) => CommandArgs {
            request: obj
                .get("request")
                .and_then(Value::as_str)
                .ok_or(usage)?
                .to_string(),
            uri: match obj.get("uri") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.parse().map_err(|_| format!("bad uri `{s}`"))?),
                Some(_) => return Err(usage.into()),
            },
            range: match obj.get("range") {
                None | Some(Value::Null) => None,
                Some(r) => {
                    Some(serde_json::from_value(r.clone()).map_err(|e| format!("bad range: {e}"))?)
                }
            },
        },
        _ => return Err(usage.into()),
    };
    if args.request.trim().is_empty() {
        return Err("the request is empty: describe the pipeline you want".into());
    }
    Ok(args)
}

/// The draft settings for a workspace: the `[draft]` section of its odp.toml and the environment as `env` reads it
/// (the server's tests read none, so they never reach a model configured on the developer's machine). A key or
/// base URL that cannot work is an error naming its variable, never the key.
pub(crate) fn settings(
    section: &DraftSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DraftSettings, ConfigError> {
    DraftSettings::resolve(env, section)
}

/// Everything the draft thread needs.
pub(crate) struct Job {
    pub id: RequestId,
    pub request: String,
    pub target: Option<Target>,
    pub settings: DraftSettings,
    pub registry: Arc<Registry>,
    /// The client's token, or one we ask the client to create (when it takes progress), or none.
    pub token: Option<lsp::ProgressToken>,
    pub create_token: bool,
}

impl Drafts {
    /// Starts a draft on its own thread. `done` hears when it ends.
    pub fn start(
        &mut self,
        mut job: Job,
        sender: Sender<Message>,
        done: impl FnOnce(DraftDone) + Send + 'static,
    ) {
        if job.create_token && job.token.is_none() {
            let token = lsp::ProgressToken::String(self.next_id("progress"));
            let _ = sender.send(Message::Request(Request::new(
                RequestId::from(self.next_id("create")),
                "window/workDoneProgress/create".into(),
                lsp::WorkDoneProgressCreateParams {
                    token: token.clone(),
                },
            )));
            job.token = Some(token);
        }
        let cancel = CancellationToken::new();
        self.running.insert(
            job.id.clone(),
            Running {
                cancel: cancel.clone(),
                token: job.token.clone(),
            },
        );
        let spawned = std::thread::Builder::new()
            .name("odp-draft".into())
            .spawn(move || run(job, sender, cancel, done));
        if let Err(e) = spawned {
            tracing::error!("cannot start a draft thread: {e}");
        }
    }
}

fn progress(
    sender: &Sender<Message>,
    token: &Option<lsp::ProgressToken>,
    value: lsp::WorkDoneProgress,
) {
    if let Some(token) = token {
        let _ = sender.send(Message::Notification(Notification::new(
            "$/progress".into(),
            lsp::ProgressParams {
                token: token.clone(),
                value: lsp::ProgressParamsValue::WorkDone(value),
            },
        )));
    }
}

fn run(job: Job, sender: Sender<Message>, cancel: CancellationToken, done: impl FnOnce(DraftDone)) {
    let token = job.token.clone();
    progress(
        &sender,
        &token,
        lsp::WorkDoneProgress::Begin(lsp::WorkDoneProgressBegin {
            title: "Drafting a pipeline".into(),
            cancellable: Some(true),
            message: Some(shorten(&job.request, 80)),
            percentage: Some(0),
        }),
    );
    let result = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Err(e) => DraftResult::Failed(DraftFailure::Runtime(e)),
        Ok(runtime) => runtime.block_on(async {
            let drafter = match Drafter::from_settings(job.settings, job.registry.clone()) {
                Ok(d) => d,
                Err(e) => return DraftResult::Failed(e.into()),
            };
            let last_report = std::sync::Mutex::new(Instant::now() - Duration::from_secs(1));
            let report = |p: Progress| {
                let percentage = match &p {
                    Progress::Asking { round, of } => Some(((round - 1) * 100 / of) as u32),
                    Progress::Checked { round, .. } => {
                        Some((round * 100 / drafter.settings.max_rounds.max(1)).min(100) as u32)
                    }
                    _ => None,
                };
                if matches!(p, Progress::Receiving { .. }) {
                    let mut last = last_report.lock().unwrap_or_else(|e| e.into_inner());
                    if last.elapsed() < Duration::from_millis(250) {
                        return;
                    }
                    *last = Instant::now();
                }
                progress(
                    &sender,
                    &token,
                    lsp::WorkDoneProgress::Report(lsp::WorkDoneProgressReport {
                        cancellable: Some(true),
                        message: Some(shorten(&p.to_string(), 120)),
                        percentage,
                    }),
                );
            };
            tokio::select! {
                r = drafter.draft(&job.request, &report) => match r {
                    Ok(o) => DraftResult::Done(Box::new(o)),
                    Err(e) => DraftResult::Failed(e.into()),
                },
                () = cancel.cancelled() => DraftResult::Cancelled,
            }
        }),
    };
    let end = match &result {
        DraftResult::Done(o) if o.is_valid() => "The draft checks clean".to_string(),
        DraftResult::Done(o) => format!(
            "The draft has {} error{} left",
            o.errors(),
            if o.errors() == 1 { "" } else { "s" }
        ),
        DraftResult::Failed(e) => shorten(&e.to_string(), 120),
        DraftResult::Cancelled => "Cancelled".into(),
    };
    progress(
        &sender,
        &token,
        lsp::WorkDoneProgress::End(lsp::WorkDoneProgressEnd { message: Some(end) }),
    );
    done(DraftDone {
        id: job.id,
        target: job.target,
        result,
    });
}

fn shorten(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// What the command answers for a finished draft.
pub(crate) fn result_json(outcome: &DraftOutcome, with_yaml: bool) -> Value {
    let mut v = json!({
        "rounds": outcome.rounds,
        "errors": outcome.errors(),
        "warnings": outcome.warnings(),
        "methods": outcome.methods_used,
        "methodsOffered": outcome.methods_offered,
    });
    if with_yaml {
        v["yaml"] = json!(outcome.yaml);
    }
    if let Some(why) = &outcome.interrupted {
        v["interrupted"] = json!(why);
    }
    v
}

/// The `workspace/applyEdit` params that put a draft in place, pinned to the target's version.
pub(crate) fn apply_edit_params(target: &Target, yaml: &str) -> lsp::ApplyWorkspaceEditParams {
    lsp::ApplyWorkspaceEditParams {
        label: Some("Draft pipeline".into()),
        edit: lsp::WorkspaceEdit {
            document_changes: Some(lsp::DocumentChanges::Edits(vec![lsp::TextDocumentEdit {
                text_document: lsp::OptionalVersionedTextDocumentIdentifier {
                    uri: target.uri.clone(),
                    version: Some(target.version),
                },
                edits: vec![lsp::OneOf::Left(lsp::TextEdit {
                    range: target.range,
                    new_text: yaml.to_string(),
                })],
            }])),
            ..Default::default()
        },
    }
}

/// The range of a whole document.
pub(crate) fn whole_document(rope: &Rope, enc: PositionEncoding) -> lsp::Range {
    lsp::Range {
        start: lsp::Position::new(0, 0),
        end: offset_to_position(rope, rope.len_bytes(), enc),
    }
}

/// The request of a `# draft: <request>` comment line, if the line is one.
pub(crate) fn draft_comment(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let (word, request) = rest.split_once(':')?;
    if !word.trim().eq_ignore_ascii_case("draft") {
        return None;
    }
    let request = request.trim();
    (!request.is_empty()).then_some(request)
}

/// Code actions for the `# draft:` lines that `range` touches: each only carries the command (no model call here).
pub(crate) fn code_actions(
    rope: &Rope,
    uri: &lsp::Uri,
    range: lsp::Range,
    enc: PositionEncoding,
) -> Vec<lsp::CodeActionOrCommand> {
    let mut out = Vec::new();
    let lines = rope.len_lines();
    let first = range.start.line as usize;
    let last = (range.end.line as usize).min(lines.saturating_sub(1));
    for line in first..=last {
        if line >= lines {
            break;
        }
        let text = rope.line(line).to_string();
        let Some(request) = draft_comment(&text) else {
            continue;
        };
        // The whole line, its line break included, is replaced by the draft.
        let end = if line + 1 < lines {
            lsp::Position::new(line as u32 + 1, 0)
        } else {
            offset_to_position(rope, rope.len_bytes(), enc)
        };
        let title = format!("Draft a pipeline with AI: {}", shorten(request, 60));
        let command = lsp::Command {
            title: title.clone(),
            command: COMMAND.into(),
            arguments: Some(vec![json!({
                "uri": uri.as_str(),
                "request": request,
                "range": lsp::Range { start: lsp::Position::new(line as u32, 0), end },
            })]),
        };
        out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
            title,
            kind: Some(lsp::CodeActionKind::REFACTOR_REWRITE),
            command: Some(command),
            ..Default::default()
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_draft_comments() {
        assert_eq!(
            draft_comment("# draft: tweets about ai"),
            Some("tweets about ai")
        );
        assert_eq!(draft_comment("  #draft:x y "), Some("x y"));
        assert_eq!(draft_comment("# Draft : x"), Some("x"));
        assert_eq!(draft_comment("# draft:"), None);
        assert_eq!(draft_comment("# drafts: x"), None);
        assert_eq!(draft_comment("name: x # draft: y"), None);
    }

    /// The model server refuses the key and echoes it plainly, JSON-escaped and percent-encoded: neither the
    /// command's error nor its progress shows any of it, not even the key's first 8 characters.
    #[test]
    fn a_refused_key_shows_in_no_progress_and_no_error() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let stub = runtime.block_on(odp_stubs::test_support::start_bundled(
            odp_stubs::StubConfig {
                require_token: Some("the-right-key".into()),
                ..Default::default()
            },
        ));
        let key = "sk-lsp/\"wrong\"+key-0123456789";
        let mut settings =
            DraftSettings::openai_compatible(format!("{}/v1", stub.base_url()), "stub-model");
        settings.api_key = Some(odp_draft::Secret::new(key));
        settings.timeout = Duration::from_secs(10);
        let job = Job {
            id: RequestId::from(1),
            request: "tweets about rust".into(),
            target: None,
            settings,
            registry: Registry::bundled(),
            token: Some(lsp::ProgressToken::String("progress".into())),
            create_token: false,
        };
        let (sender, receiver) = crossbeam_channel::unbounded();
        let mut finished = None;
        run(job, sender, CancellationToken::new(), |done| {
            finished = Some(done.result)
        });
        let Some(DraftResult::Failed(message)) = finished else {
            panic!("the draft did not fail")
        };
        let progress: Vec<String> = receiver
            .try_iter()
            .filter_map(|m| match m {
                Message::Notification(n) => Some(n.params.to_string()),
                _ => None,
            })
            .collect();
        assert!(progress.len() >= 2, "{progress:?}");
        let all = format!("{message} {}", progress.join(" "));
        assert!(
            all.contains("Incorrect API key provided: [redacted]"),
            "{all}"
        );
        let json = serde_json::to_string(key).unwrap();
        let percent = "sk%2Dlsp%2F%22wrong%22%2Bkey%2D0123456789";
        for form in [key, &json[1..json.len() - 1], percent, &key[..8]] {
            assert!(!all.contains(form), "`{form}` shows in: {all}");
        }
    }

    #[test]
    fn a_short_key_or_an_unusable_base_url_is_refused_naming_the_variable() {
        let section = DraftSection {
            base_url: Some("http://127.0.0.1:8000/v1".into()),
            api_key_env: Some("MY_LLM_KEY".into()),
            ..DraftSection::default()
        };
        let e = settings(&section, &|name| {
            (name == "MY_LLM_KEY").then(|| "k3y-x9".into())
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("MY_LLM_KEY is shorter than 8 characters"),
            "{e}"
        );
        assert!(!e.contains("k3y-x9"), "{e}");
        let e = settings(&section, &|name| {
            (name == "OPENAI_BASE_URL").then(|| "http://127.0.0.1:8000/v1?x=1".into())
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("OPENAI_BASE_URL: `http://127.0.0.1:8000/v1?…` is not a usable base URL"),
            "{e}"
        );
        assert!(settings(&section, &|_| None).is_ok());
    }

    #[test]
    fn parses_both_argument_forms() {
        let a = parse_args(&[json!("some words")]).unwrap();
        assert_eq!(a.request, "some words");
        assert!(a.uri.is_none());
        let a = parse_args(&[json!({"uri": "file:///a.odp.yaml", "request": "x"})]).unwrap();
        assert_eq!(a.uri.unwrap().as_str(), "file:///a.odp.yaml");
        assert!(parse_args(&[]).is_err());
        assert!(parse_args(&[json!({"uri": "file:///a"})]).is_err());
        assert!(parse_args(&[json!("  ")]).is_err());
    }
}
