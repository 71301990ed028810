//! Inlay hints: each step's last result (from [`super::run`]) and the types templates resolve to, each under its
//! client setting; `inlayHint/resolve` adds a type hint's tooltip (the documentation of the method its value
//! comes from, or the input's declaration) only when the client shows it.

use lsp_server::ErrorCode;
use lsp_types as lsp;
use odp_ide::HintOrigin;
use serde_json::{Value, json};

use crate::dispatch::{DocContext, HandlerError, HandlerResult};
use crate::from_proto;

pub(crate) fn inlay_hint(
    ctx: &DocContext,
    p: lsp::InlayHintParams,
) -> HandlerResult<Option<Vec<lsp::InlayHint>>> {
    let mut hints = super::run::result_hints(ctx, p.range);
    if ctx.snap.type_hints {
        let range = from_proto::text_range(&ctx.snap.rope, p.range, ctx.encoding);
        let uri = ctx.snap.uri.as_str();
        hints.extend(ctx.ide().type_hints(range).into_iter().map(|h| {
            let position = ctx.range(odp_analysis::TextRange::empty(h.offset)).start;
            lsp::InlayHint {
                position,
                label: lsp::InlayHintLabel::String(h.label),
                kind: Some(lsp::InlayHintKind::TYPE),
                text_edits: None,
                tooltip: None,
                padding_left: None,
                padding_right: None,
                data: Some(data(uri, &h.origin)),
            }
        }));
    }
    Ok(Some(hints))
}

/// What a type hint carries for its resolve: its document (the dispatcher reads `uri`) and where its value comes
/// from.
fn data(uri: &str, origin: &HintOrigin) -> Value {
    match origin {
        HintOrigin::Step { name, method } => json!({"uri": uri, "step": name, "method": method}),
        HintOrigin::Input(name) => json!({"uri": uri, "input": name}),
    }
}

fn origin(data: &Value) -> Option<HintOrigin> {
    let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_string);
    if let Some(name) = text("input") {
        return Some(HintOrigin::Input(name));
    }
    Some(HintOrigin::Step {
        name: text("step")?,
        method: text("method"),
    })
}

/// The hint with its tooltip; unchanged when what it named is gone (the document changed since).
pub(crate) fn inlay_hint_resolve(
    ctx: &DocContext,
    mut hint: lsp::InlayHint,
) -> HandlerResult<lsp::InlayHint> {
    let Some(data) = &hint.data else {
        return Ok(hint);
    };
    let origin = origin(data).ok_or_else(|| {
        HandlerError::new(
            ErrorCode::InvalidParams,
            format!("inlayHint/resolve: unknown data {data}"),
        )
    })?;
    if let Some(markdown) = ctx.ide().type_hint_tooltip(&origin) {
        hint.tooltip = Some(lsp::InlayHintTooltip::MarkupContent(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: markdown,
        }));
    }
    Ok(hint)
}
