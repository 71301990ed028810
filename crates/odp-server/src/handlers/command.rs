//! `workspace/executeCommand`: `odp.generateDraft`, which drafts on a thread of its own (see `draft.rs`), answers
//! when the draft ends, and asks the client to apply it with `workspace/applyEdit`.

use lsp_server::{ErrorCode, Message, Request, RequestId, Response};
use lsp_types as lsp;
use serde_json::{Value, json};

use crate::global_state::{GlobalState, Internal};
use crate::{draft, from_proto};

/// `workspace/executeCommand`: only `odp.generateDraft`, which drafts on its own thread (see draft.rs).
pub(crate) fn execute_command(
    state: &mut GlobalState,
    req: Request,
    params: lsp::ExecuteCommandParams,
) {
    let fail = |id: RequestId, code: ErrorCode, message: String| {
        Message::Response(Response::new_err(id, code as i32, message))
    };
    if [
        crate::runs::RUN_PIPELINE,
        crate::runs::RUN_STEP,
        crate::runs::CANCEL_RUN,
        crate::runs::SHOW_RESULT,
    ]
    .contains(&params.command.as_str())
    {
        return super::run::execute(state, req, params);
    }
    if params.command == super::graph::SHOW_GRAPH {
        return super::graph::execute(state, req, params);
    }
    if params.command != draft::COMMAND {
        state.send(fail(
            req.id,
            ErrorCode::InvalidParams,
            format!("unknown command `{}`", params.command),
        ));
        return;
    }
    let args = match draft::parse_args(&params.arguments) {
        Ok(a) => a,
        Err(e) => {
            state.send(fail(req.id, ErrorCode::InvalidParams, e));
            return;
        }
    };
    let target = match &args.uri {
        None => None,
        Some(uri) => match state.docs.get(uri.as_str()) {
            None => {
                state.send(fail(
                    req.id,
                    ErrorCode::InvalidParams,
                    format!("{} is not open", uri.as_str()),
                ));
                return;
            }
            Some((_, doc)) if doc.out_of_sync.is_some() => {
                state.send(fail(
                    req.id,
                    ErrorCode::RequestFailed,
                    format!(
                        "the server lost track of the text of {}; close and reopen it, then run the command again",
                        uri.as_str()
                    ),
                ));
                return;
            }
            Some((_, doc)) => Some(draft::Target {
                uri: uri.clone(),
                version: doc.version,
                range: args
                    .range
                    .unwrap_or_else(|| draft::whole_document(&doc.rope, state.encoding)),
            }),
        },
    };
    let path = args.uri.as_ref().and_then(from_proto::file_path);
    let Some(workspace) = state.workspace_for(path.as_deref(), None) else {
        // Its configuration is loading: the command runs when it has loaded.
        state.deferred.push(req);
        return;
    };
    let testing = state.testing;
    let env = |name: &str| (!testing).then(|| std::env::var(name).ok()).flatten();
    let settings = match draft::settings(&workspace.draft, &env) {
        Ok(s) => s,
        Err(e) => {
            state.send(fail(req.id, ErrorCode::RequestFailed, e.to_string()));
            return;
        }
    };
    tracing::info!(model = %settings.describe(), "drafting a pipeline");
    let job = draft::Job {
        id: req.id,
        request: args.request,
        target,
        settings,
        registry: workspace.registry.clone(),
        token: params.work_done_progress_params.work_done_token,
        create_token: state.progress_support,
    };
    let internal = state.internal_tx.clone();
    let sender = state.sender.clone();
    state.drafts.start(job, sender, move |done| {
        let _ = internal.send(Internal::Draft(done));
    });
}

/// A draft ended: answer the command, or ask the client to apply the edit if the document is unchanged.
pub(crate) fn draft_done(state: &mut GlobalState, done: draft::DraftDone) {
    state.drafts.finished(&done.id);
    let outcome = match done.result {
        draft::DraftResult::Cancelled => {
            state.send(Message::Response(Response::new_err(
                done.id,
                ErrorCode::RequestCanceled as i32,
                "the draft was cancelled".into(),
            )));
            return;
        }
        draft::DraftResult::Failed(failure) => {
            state.send(Message::Response(Response::new_err(
                done.id,
                ErrorCode::RequestFailed as i32,
                failure.to_string(),
            )));
            return;
        }
        draft::DraftResult::Done(outcome) => outcome,
    };
    let Some(target) = done.target else {
        state.send(Message::Response(Response::new_ok(
            done.id,
            draft::result_json(&outcome, true),
        )));
        return;
    };
    let current = state.docs.get(target.uri.as_str()).map(|(_, d)| d.version);
    if current != Some(target.version) {
        let mut response = Response::new_err(
            done.id,
            ErrorCode::ContentModified as i32,
            "the document changed while the draft was being written, so it was not applied; run the command again"
                .into(),
        );
        if let Err(error) = response.response_result.as_mut() {
            error.data = Some(json!({"yaml": outcome.yaml}));
        }
        state.send(Message::Response(response));
        return;
    }
    if !state.apply_edit_support {
        let mut result = draft::result_json(&outcome, true);
        result["applied"] = json!(false);
        state.send(Message::Response(Response::new_ok(done.id, result)));
        return;
    }
    let mut result = draft::result_json(&outcome, false);
    result["applied"] = json!(true);
    let edit_id = state.drafts.edit_sent(done.id, result);
    state.send(Message::Request(Request::new(
        edit_id,
        "workspace/applyEdit".into(),
        draft::apply_edit_params(&target, &outcome.yaml),
    )));
}

/// Answers from the client to our requests: only `workspace/applyEdit` ones matter.
pub(crate) fn on_response(state: &mut GlobalState, response: Response) {
    let Some((request, result)) = state.drafts.edit_answered(&response.id) else {
        return;
    };
    let answer = match response.response_result {
        Err(e) => Response::new_err(
            request,
            ErrorCode::RequestFailed as i32,
            format!("the editor did not apply the draft: {}", e.message),
        ),
        Ok(Value::Null) => Response::new_ok(request, result),
        Ok(v) => match serde_json::from_value::<lsp::ApplyWorkspaceEditResponse>(v) {
            Ok(r) if r.applied => Response::new_ok(request, result),
            Ok(r) => Response::new_err(
                request,
                ErrorCode::RequestFailed as i32,
                format!(
                    "the editor did not apply the draft{}",
                    r.failure_reason
                        .map(|f| format!(": {f}"))
                        .unwrap_or_default()
                ),
            ),
            Err(e) => Response::new_err(
                request,
                ErrorCode::RequestFailed as i32,
                format!("the editor answered workspace/applyEdit strangely: {e}"),
            ),
        },
    };
    state.send(Message::Response(answer));
}
