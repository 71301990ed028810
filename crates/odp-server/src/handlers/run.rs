//! Runs from the editor: the `odp.runPipeline`, `odp.runStep` and `odp.cancelRun` commands, and what shows their
//! results where people look: code lenses, inlay hints (and hovers, in `request`).

use std::collections::HashMap;
use std::sync::Arc;

use lsp_server::{ErrorCode, Message, Request, RequestId, Response};
use lsp_types as lsp;
use odp_exec::wiring::{ServiceSettings, Services, ServicesRequest};
use odp_exec::{Engine, RunRequest, StepStatus};
use odp_workspace::engine::{EngineFlags, EngineKind, EngineSettings};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::dispatch::{DocContext, HandlerResult};
use crate::global_state::{GlobalState, Internal, RequestTarget};
use crate::runs::{self, DocResults, Route, RunArgs, RunDone, RunReport, Running};
use crate::snapshot::DocSnapshot;

type RunError = (ErrorCode, String, Option<Value>);

pub(crate) fn execute(state: &mut GlobalState, req: Request, params: lsp::ExecuteCommandParams) {
    let fail = |state: &GlobalState, id: RequestId, message: String| {
        state.send(Message::Response(Response::new_err(
            id,
            ErrorCode::InvalidParams as i32,
            message,
        )));
    };
    let with_step = [runs::RUN_STEP, runs::SHOW_RESULT].contains(&params.command.as_str());
    let args = match runs::parse_args(&params.arguments, with_step) {
        Ok(args) => args,
        Err(e) => return fail(state, req.id, format!("{}: {e}", params.command)),
    };
    let key = args.uri.as_str().to_string();
    if params.command == runs::CANCEL_RUN {
        let cancelled = state
            .running
            .get(&key)
            .inspect(|r| r.cancel.cancel())
            .is_some();
        state.send(Message::Response(Response::new_ok(
            req.id,
            json!({"cancelled": cancelled}),
        )));
        return;
    }
    if params.command == runs::SHOW_RESULT {
        // The whole result, for a read-only document of the client's.
        let step = args.step.unwrap_or_default();
        let response = match state.results.get(&key).and_then(|r| r.steps.get(&step)) {
            Some(result) => Response::new_ok(
                req.id,
                json!({
                    "step": step,
                    "summary": result.summary(),
                    "status": result.status,
                    "attempts": result.attempts,
                    "durationMs": result.duration_ms,
                    "error": result.error,
                    "value": result.value.as_deref(),
                }),
            ),
            None => Response::new_err(
                req.id,
                ErrorCode::InvalidParams as i32,
                format!("step `{step}` has no result yet: run it first"),
            ),
        };
        state.send(Message::Response(response));
        return;
    }
    let snapshot = match state.request_target(&args.uri) {
        RequestTarget::Wait => return state.deferred.push(req),
        RequestTarget::Nothing => {
            return fail(
                state,
                req.id,
                format!(
                    "{} is not an open pipeline the server is in sync with",
                    args.uri.as_str()
                ),
            );
        }
        RequestTarget::Snapshot(snapshot) => snapshot,
    };
    let runtime = match state.runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            return state.send(Message::Response(Response::new_err(
                req.id,
                ErrorCode::InternalError as i32,
                format!("cannot start the runtime for runs: {e}"),
            )));
        }
    };
    // A new run of a document replaces the one under way.
    if let Some(old) = state.running.remove(&key) {
        old.cancel.cancel();
    }
    let (run_id, cancel) = (Uuid::now_v7(), CancellationToken::new());
    state.running.insert(
        key,
        Running {
            run_id,
            cancel: cancel.clone(),
            request: req.id.clone(),
        },
    );
    // Clients such as VS Code ask for code lenses again only when told: `■ Cancel` shows while the run is under way.
    if state.refresh_support.0 {
        state.send(Message::Request(Request::new(
            RequestId::from(format!("odp-workspace/codeLens/refresh-start-{run_id}")),
            "workspace/codeLens/refresh".into(),
            Value::Null,
        )));
    }
    let context = RunContext {
        cache: state.cache.clone(),
        router: state.router.clone(),
        sender: state.sender.clone(),
        progress_support: state.progress_support,
        testing: state.testing,
    };
    let (tx, uri, request) = (state.internal_tx.clone(), args.uri.clone(), req.id);
    runtime.spawn(async move {
        let result = run(snapshot, args, context, run_id, cancel).await;
        let _ = tx.send(Internal::Run(RunDone {
            uri,
            request,
            run_id,
            result,
        }));
    });
}

struct RunContext {
    cache: crate::snapshot::Cache,
    router: Arc<runs::ProgressRouter>,
    sender: crossbeam_channel::Sender<Message>,
    progress_support: bool,
    testing: bool,
}

async fn run(
    snap: DocSnapshot,
    args: RunArgs,
    ctx: RunContext,
    run_id: Uuid,
    cancel: CancellationToken,
) -> Result<RunReport, RunError> {
    let internal = |e: String| (ErrorCode::InternalError, e, None);
    let analysis = {
        let (snap, cache) = (snap.clone(), ctx.cache.clone());
        tokio::task::spawn_blocking(move || snap.analysis(&cache))
            .await
            .map_err(|e| internal(format!("the analysis failed: {e}")))?
    };
    let errors = analysis.error_count();
    if errors > 0 {
        return Err((
            ErrorCode::RequestFailed,
            format!(
                "the pipeline has {errors} error{}: nothing ran (see its diagnostics)",
                if errors == 1 { "" } else { "s" }
            ),
            None,
        ));
    }
    let pipeline = &analysis.pipeline;
    let mut given = args.inputs;
    if given.is_empty()
        && let Some(path) = &snap.path
    {
        given = inputs_file(path).map_err(|e| (ErrorCode::InvalidParams, e, None))?;
    }
    let missing: Vec<String> = pipeline
        .inputs
        .iter()
        .filter(|i| i.required && i.default.is_none() && !given.contains_key(&i.name.value))
        .map(|i| i.name.value.clone())
        .collect();
    if !missing.is_empty() {
        return Err((
            ErrorCode::InvalidParams,
            format!(
                "required input{} without a value: {}; give {} with the command's `inputs`",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
            ),
            Some(json!({"missingInputs": missing})),
        ));
    }
    let registry = snap.workspace.registry.clone();
    let plan = odp_exec::plan(&analysis, &registry, &given)
        .map_err(|e| (ErrorCode::InvalidParams, e.to_string(), None))?;
    let text = snap.text();
    let texts: HashMap<String, String> = pipeline
        .steps
        .iter()
        .filter_map(|s| {
            let name = s.name.as_ref()?.value.clone();
            Some((name, text.get(s.range.as_range())?.to_string()))
        })
        .collect();
    // A step runs against the results of the steps it reads that are still current.
    let known: Map<String, Value> = match (&args.step, &snap.results) {
        (Some(step), Some(results)) => fresh_results(pipeline, results, text)
            .into_iter()
            .filter(|(name, _)| name != step)
            .collect(),
        _ => Map::new(),
    };
    let workspace = snap.workspace.clone();
    // The one rule of every front end: the environment (not read by tests), else odp.toml, else the default.
    let env = |name: &str| (!ctx.testing).then(|| std::env::var(name).ok()).flatten();
    let engine =
        EngineSettings::resolve_with(&env, &EngineFlags::default(), &workspace.engine_config)
            .map_err(|e| (ErrorCode::RequestFailed, e.to_string(), None))?;
    let (engine, stubbed, notice): (Arc<dyn Engine>, bool, Option<String>) = match engine.kind {
        EngineKind::Local => {
            let services = workspace
                .services
                .get_or_try_init(|| async {
                    let settings = ServiceSettings::resolve_with(
                        &env,
                        None,
                        None,
                        &workspace.services_config,
                    )?;
                    Services::start(ServicesRequest {
                        settings,
                        events: None,
                        config: &workspace.services_config,
                        registry: registry.clone(),
                        progress: ctx.router.clone(),
                        concurrency: odp_exec::engine::DEFAULT_CONCURRENCY,
                    })
                    .await
                    .map(Arc::new)
                })
                .await
                .map_err(|e| (ErrorCode::RequestFailed, e.to_string(), None))?;
            services
                .check_plan(&plan)
                .map_err(|e| (ErrorCode::RequestFailed, e.to_string(), None))?;
            let stubbed = services.stubbed();
            (
                services.engine.clone(),
                stubbed,
                stubbed.then(|| services.description.clone()),
            )
        }
        EngineKind::Temporal => {
            let (engine, description) =
                temporal_engine(&workspace, engine.temporal, ctx.router.clone()).await?;
            (engine, false, Some(description))
        }
    };
    let token = runs::create_token(&ctx.sender, ctx.progress_support, run_id);
    let route = Route {
        sender: ctx.sender.clone(),
        token,
    };
    ctx.router.add(run_id, route.clone());
    let title = match &args.step {
        Some(step) => format!("Running step {step}"),
        None => format!("Running {}", plan.pipeline),
    };
    runs::progress(
        &route,
        lsp::WorkDoneProgress::Begin(lsp::WorkDoneProgressBegin {
            title,
            cancellable: Some(false),
            message: notice.clone(),
            percentage: None,
        }),
    );
    if let Some(notice) = notice {
        runs::log(
            &ctx.sender,
            lsp::MessageType::INFO,
            format!("odp: {notice}"),
        );
    }
    let mut request = RunRequest::new(&plan, run_id).known(Arc::new(known));
    if let Some(step) = &args.step {
        request = request.only(vec![step.clone()]);
    }
    let outcome = engine.execute(request, cancel).await;
    runs::progress(
        &route,
        lsp::WorkDoneProgress::End(lsp::WorkDoneProgressEnd {
            message: Some(format!("{:?}", outcome.status).to_lowercase()),
        }),
    );
    ctx.router.remove(run_id);
    Ok(RunReport {
        outcome,
        texts,
        stubbed,
    })
}

/// The Temporal engine of a workspace whose `[engine] kind` is `temporal`: connected with the first run and kept;
/// the workers have the services, so nothing starts here. Also the words the progress shows.
#[cfg(feature = "temporal")]
async fn temporal_engine(
    workspace: &crate::global_state::Workspace,
    settings: odp_workspace::engine::TemporalSettings,
    router: Arc<runs::ProgressRouter>,
) -> Result<(Arc<dyn Engine>, String), RunError> {
    let description = format!(
        "on Temporal at {} (task queue `{}`): the workers' services",
        settings.address, settings.task_queue
    );
    let engine = workspace
        .temporal
        .get_or_try_init(|| async {
            let (events, _) = odp_exec::wiring::event_sink(None, &workspace.services_config)?;
            let client = odp_temporal::connect(&settings).await?;
            Ok::<_, TemporalSetupError>(Arc::new(odp_temporal::TemporalEngine::new(
                client,
                settings.clone(),
                events,
                router,
                odp_exec::engine::DEFAULT_CONCURRENCY,
            )))
        })
        .await
        .map_err(|e| (ErrorCode::RequestFailed, e.to_string(), None))?;
    Ok((engine.clone(), description))
}

/// Why the Temporal engine of a workspace could not be set up (its text answers the run command).
#[cfg(feature = "temporal")]
#[derive(Debug, thiserror::Error)]
enum TemporalSetupError {
    #[error(transparent)]
    Events(#[from] odp_exec::wiring::WiringError),
    #[error(transparent)]
    Connect(#[from] odp_temporal::TemporalError),
}

/// Without the `temporal` feature, a workspace configured for Temporal gets a clear refusal.
#[cfg(not(feature = "temporal"))]
async fn temporal_engine(
    _workspace: &crate::global_state::Workspace,
    _settings: odp_workspace::engine::TemporalSettings,
    _router: Arc<runs::ProgressRouter>,
) -> Result<(Arc<dyn Engine>, String), RunError> {
    Err((ErrorCode::RequestFailed, NO_TEMPORAL.to_string(), None))
}

/// What a run answers in a workspace configured for Temporal when this build cannot reach Temporal.
#[cfg(not(feature = "temporal"))]
pub(crate) const NO_TEMPORAL: &str = "this odp-lsp was built without the `temporal` feature; the workspace's engine is \
    `temporal` (`[engine] kind` in odp.toml, or ODP_ENGINE), so it cannot run pipelines from the editor: use an odp-lsp \
    built with it (`cargo install odp-lsp --features temporal`; the VS Code extension's bundled server has it), or \
    run with `odp run`";

/// Inputs from `NAME.inputs.yaml` beside `NAME.odp.yaml`, if there is one.
fn inputs_file(pipeline: &std::path::Path) -> Result<Map<String, Value>, String> {
    let name = pipeline.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name
        .strip_suffix(".odp.yaml")
        .or_else(|| name.strip_suffix(".odp.yml"))
        .unwrap_or(name);
    let path = pipeline.with_file_name(format!("{stem}.inputs.yaml"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Map::new());
    };
    let parse = odp_syntax::parse(&text);
    if let Some(e) = parse.errors.first() {
        return Err(format!("{}: {}", path.display(), e.message));
    }
    match parse
        .root
        .map(|r| odp_analysis::registry::to_serde(&r.to_json()))
    {
        None => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(format!(
            "{}: expected a mapping of input names to values",
            path.display()
        )),
    }
}

/// Which steps' results are stale: a step whose text changed since it ran, or that reads a stale step.
fn stale_steps(
    pipeline: &odp_analysis::Pipeline,
    results: &DocResults,
    text: &str,
) -> HashMap<String, bool> {
    let mut stale: HashMap<String, bool> = HashMap::new();
    // Steps may read only earlier steps: one pass in order settles every dependency.
    for step in &pipeline.steps {
        let Some(name) = step.name.as_ref().map(|n| n.value.clone()) else {
            continue;
        };
        let changed = results
            .steps
            .get(&name)
            .is_some_and(|r| text.get(step.range.as_range()) != Some(r.text.as_str()));
        let reads_stale = odp_exec::template_roots(&step.params)
            .iter()
            .any(|dep| stale.get(dep).copied().unwrap_or(false));
        stale.insert(name, changed || reads_stale);
    }
    stale
}

/// The completed, current results, by step name.
fn fresh_results(
    pipeline: &odp_analysis::Pipeline,
    results: &DocResults,
    text: &str,
) -> Map<String, Value> {
    let stale = stale_steps(pipeline, results, text);
    results
        .steps
        .iter()
        .filter(|(name, r)| {
            r.status == StepStatus::Completed && !stale.get(*name).copied().unwrap_or(true)
        })
        .filter_map(|(name, r)| Some((name.clone(), (*r.value.clone()?).clone())))
        .collect()
}

/// A run ended: its results are kept, its command answered, and the client asked to show them.
pub(crate) fn run_done(state: &mut GlobalState, done: RunDone) {
    let key = done.uri.as_str().to_string();
    if state
        .running
        .get(&key)
        .is_some_and(|r| r.run_id == done.run_id)
    {
        state.running.remove(&key);
    }
    // The client cancelled the command's request (`$/cancelRequest`): it is answered as cancelled, and what the run
    // did before it stopped is kept all the same.
    let cancelled = state.cancelled.lock().expect("lock").remove(&done.request);
    let response = match done.result {
        Err(_) if cancelled => cancelled_response(done.request),
        Err((code, message, data)) => {
            let mut response = Response::new_err(done.request, code as i32, message);
            if let Some(error) = response.response_result.as_mut().err() {
                error.data = data;
            }
            response
        }
        Ok(report) => {
            // A document closed meanwhile keeps nothing.
            if state.docs.contains_key(&key) {
                let results = Arc::make_mut(state.results.entry(key).or_default());
                for (name, result) in report.results() {
                    results.insert(name, result);
                }
            }
            if cancelled {
                cancelled_response(done.request)
            } else {
                Response::new_ok(done.request, report.to_json())
            }
        }
    };
    state.send(Message::Response(response));
    let (lenses, hints) = state.refresh_support;
    for (supported, method) in [
        (lenses, "workspace/codeLens/refresh"),
        (hints, "workspace/inlayHint/refresh"),
    ] {
        if supported {
            state.send(Message::Request(Request::new(
                RequestId::from(format!("odp-{method}-{}", done.run_id)),
                method.into(),
                Value::Null,
            )));
        }
    }
}

fn cancelled_response(request: RequestId) -> Response {
    Response::new_err(
        request,
        ErrorCode::RequestCanceled as i32,
        "the run was cancelled".into(),
    )
}

/// `▶ Run pipeline` above `name:`, `▶ Run step` on each step, `■ Cancel` while a run is under way.
pub(crate) fn code_lens(
    ctx: &DocContext,
    _: lsp::CodeLensParams,
) -> HandlerResult<Option<Vec<lsp::CodeLens>>> {
    let uri = json!(ctx.snap.uri.as_str());
    let lens = |range, title: &str, command: &str, arguments: Vec<Value>| lsp::CodeLens {
        range,
        command: Some(lsp::Command {
            title: title.into(),
            command: command.into(),
            arguments: Some(arguments),
        }),
        data: None,
    };
    let pipeline = &ctx.analysis.pipeline;
    let mut lenses = Vec::new();
    if let Some(name) = &pipeline.name {
        let range = ctx.range(name.range);
        lenses.push(lens(
            range,
            "▶ Run pipeline",
            runs::RUN_PIPELINE,
            vec![uri.clone()],
        ));
        if ctx.snap.running {
            lenses.push(lens(range, "■ Cancel", runs::CANCEL_RUN, vec![uri.clone()]));
        }
    }
    for step in &pipeline.steps {
        if let Some(name) = &step.name {
            lenses.push(lens(
                ctx.range(name.range),
                "▶ Run step",
                runs::RUN_STEP,
                vec![uri.clone(), json!(name.value)],
            ));
        }
    }
    Ok(Some(lenses))
}

/// The runs as code actions: the pipeline, and the step the range is in; none while the pipeline has errors (a run
/// would refuse it).
pub(crate) fn code_actions(
    ctx: &DocContext,
    range: odp_analysis::TextRange,
) -> Vec<lsp::CodeActionOrCommand> {
    if ctx.analysis.error_count() > 0 {
        return Vec::new();
    }
    let uri = json!(ctx.snap.uri.as_str());
    let action = |title: String, command: &str, arguments: Vec<Value>| {
        lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
            title: title.clone(),
            kind: Some(lsp::CodeActionKind::SOURCE),
            command: Some(lsp::Command {
                title,
                command: command.into(),
                arguments: Some(arguments),
            }),
            ..Default::default()
        })
    };
    let mut actions = Vec::new();
    if let Some(step) = ctx
        .analysis
        .pipeline
        .steps
        .iter()
        .find(|s| s.range.contains_range(range))
        && let Some(name) = &step.name
    {
        actions.push(action(
            format!("Run step `{}`", name.value),
            runs::RUN_STEP,
            vec![uri.clone(), json!(name.value)],
        ));
    }
    actions.push(action("Run pipeline".into(), runs::RUN_PIPELINE, vec![uri]));
    actions
}

/// After each step's name, its last result: `✓ 30 results · 12 ms`, `✗ … after 3 attempts`, marked stale when
/// the step or a step it reads changed since.
pub(crate) fn result_hints(ctx: &DocContext, range: lsp::Range) -> Vec<lsp::InlayHint> {
    let Some(results) = ctx.snap.results.as_ref().filter(|_| ctx.snap.result_hints) else {
        return Vec::new();
    };
    let pipeline = &ctx.analysis.pipeline;
    let stale = stale_steps(pipeline, results, ctx.snap.text());
    let mut hints = Vec::new();
    for step in &pipeline.steps {
        let Some(name) = &step.name else { continue };
        let Some(result) = results.steps.get(&name.value) else {
            continue;
        };
        let position = ctx.range(name.range).end;
        if position < range.start || position > range.end {
            continue;
        }
        let mut label = format!(" {}", result.summary());
        if stale.get(&name.value).copied().unwrap_or(false) {
            label.push_str(" (stale)");
        }
        hints.push(lsp::InlayHint {
            position,
            label: lsp::InlayHintLabel::String(label),
            kind: None,
            text_edits: None,
            tooltip: None,
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    hints
}

/// A hover over a step's name that has a result: the result's summary (marked stale as the hint is) and the start
/// of its value.
pub(crate) fn result_hover(ctx: &DocContext, offset: usize) -> Option<lsp::Hover> {
    let results = ctx.snap.results.as_ref()?;
    let step = ctx.analysis.pipeline.steps.iter().find(|s| {
        s.name
            .as_ref()
            .is_some_and(|n| n.range.contains_inclusive(offset))
    })?;
    let name = step.name.as_ref()?;
    let result = results.steps.get(&name.value)?;
    let mut markdown = format!(
        "**{}** — last run: {} ({} attempt{}, {} ms)",
        name.value,
        result.summary(),
        result.attempts,
        if result.attempts == 1 { "" } else { "s" },
        result.duration_ms
    );
    // As the inlay hint says it: a result the step (or one it reads) has changed since is stale.
    if stale_steps(&ctx.analysis.pipeline, results, ctx.snap.text())
        .get(&name.value)
        .copied()
        .unwrap_or(false)
    {
        markdown.push_str(" (stale: the step or one it reads changed since)");
    }
    if let Some(value) = &result.value {
        let mut shown = serde_json::to_string_pretty(value).unwrap_or_default();
        if shown.len() > 2000 {
            let mut cut = 2000;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            shown.push_str("\n…");
        }
        markdown.push_str(&format!("\n\n```json\n{shown}\n```"));
    }
    Some(lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: markdown,
        }),
        range: Some(ctx.range(name.range)),
    })
}
