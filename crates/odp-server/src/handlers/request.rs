//! Requests about one document, answered on a worker thread from a [`DocContext`]: the core (`odp-ide`) answers,
//! `to_proto` converts.

use lsp_server::ErrorCode;
use lsp_types as lsp;

use crate::dispatch::{DocContext, HandlerError, HandlerResult};
use crate::{draft, from_proto, to_proto};

pub(crate) fn completion(
    ctx: &DocContext,
    p: lsp::CompletionParams,
) -> HandlerResult<Option<lsp::CompletionResponse>> {
    let items = ctx
        .ide()
        .completions(ctx.offset(p.text_document_position.position))
        .iter()
        .map(|i| to_proto::completion_item(i, &ctx.snap.rope, ctx.encoding, ctx.snippets))
        .collect();
    Ok(Some(lsp::CompletionResponse::List(lsp::CompletionList {
        is_incomplete: false,
        items,
    })))
}

pub(crate) fn hover(ctx: &DocContext, p: lsp::HoverParams) -> HandlerResult<Option<lsp::Hover>> {
    let offset = ctx.offset(p.text_document_position_params.position);
    if let Some(hover) = super::run::result_hover(ctx, offset) {
        return Ok(Some(hover));
    }
    Ok(ctx.ide().hover(offset).map(|h| lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: h.markdown,
        }),
        range: Some(ctx.range(h.range)),
    }))
}

pub(crate) fn definition(
    ctx: &DocContext,
    p: lsp::GotoDefinitionParams,
) -> HandlerResult<Option<lsp::GotoDefinitionResponse>> {
    Ok(ctx
        .ide()
        .definition(ctx.offset(p.text_document_position_params.position))
        .map(|r| lsp::GotoDefinitionResponse::Scalar(ctx.location(r))))
}

pub(crate) fn references(
    ctx: &DocContext,
    p: lsp::ReferenceParams,
) -> HandlerResult<Option<Vec<lsp::Location>>> {
    Ok(Some(
        ctx.ide()
            .references(
                ctx.offset(p.text_document_position.position),
                p.context.include_declaration,
            )
            .into_iter()
            .map(|r| ctx.location(r))
            .collect(),
    ))
}

pub(crate) fn prepare_rename(
    ctx: &DocContext,
    p: lsp::TextDocumentPositionParams,
) -> HandlerResult<Option<lsp::PrepareRenameResponse>> {
    ctx.ide()
        .prepare_rename(ctx.offset(p.position))
        .map(|r| Some(lsp::PrepareRenameResponse::Range(ctx.range(r))))
        .map_err(|e| HandlerError::new(ErrorCode::RequestFailed, e.to_string()))
}

pub(crate) fn rename(
    ctx: &DocContext,
    p: lsp::RenameParams,
) -> HandlerResult<Option<lsp::WorkspaceEdit>> {
    let edits = ctx
        .ide()
        .rename(ctx.offset(p.text_document_position.position), &p.new_name)
        .map_err(|e| HandlerError::new(ErrorCode::RequestFailed, e.to_string()))?;
    Ok(Some(to_proto::workspace_edit(
        &ctx.snap.uri,
        &ctx.snap.rope,
        &edits,
        ctx.encoding,
    )))
}

pub(crate) fn code_action(
    ctx: &DocContext,
    p: lsp::CodeActionParams,
) -> HandlerResult<Option<lsp::CodeActionResponse>> {
    let (uri, rope) = (&ctx.snap.uri, &ctx.snap.rope);
    let range = from_proto::text_range(rope, p.range, ctx.encoding);
    let diagnostics = to_proto::diagnostics(uri, rope, &ctx.analysis, ctx.encoding);
    let actions = ctx
        .ide()
        .code_actions(range)
        .into_iter()
        .map(|a| {
            lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title: a.title,
                kind: Some(lsp::CodeActionKind::QUICKFIX),
                diagnostics: a
                    .diagnostic
                    .and_then(|i| diagnostics.get(i).cloned())
                    .map(|d| vec![d]),
                edit: Some(to_proto::workspace_edit(uri, rope, &a.edits, ctx.encoding)),
                is_preferred: Some(a.preferred),
                ..Default::default()
            })
        })
        .chain(draft::code_actions(rope, uri, p.range, ctx.encoding))
        .chain(super::run::code_actions(ctx, range))
        .collect();
    Ok(Some(actions))
}

pub(crate) fn document_symbol(
    ctx: &DocContext,
    _: lsp::DocumentSymbolParams,
) -> HandlerResult<Option<lsp::DocumentSymbolResponse>> {
    let symbols = ctx
        .ide()
        .symbols()
        .into_iter()
        .map(|s| to_proto::document_symbol(s, &ctx.snap.rope, ctx.encoding))
        .collect();
    Ok(Some(lsp::DocumentSymbolResponse::Nested(symbols)))
}

pub(crate) fn folding_range(
    ctx: &DocContext,
    _: lsp::FoldingRangeParams,
) -> HandlerResult<Option<Vec<lsp::FoldingRange>>> {
    Ok(Some(
        ctx.ide()
            .folds()
            .into_iter()
            .map(to_proto::folding_range)
            .collect(),
    ))
}

pub(crate) fn semantic_tokens_full(
    ctx: &DocContext,
    _: lsp::SemanticTokensParams,
) -> HandlerResult<Option<lsp::SemanticTokensResult>> {
    let tokens =
        to_proto::semantic_tokens(ctx.ide().semantic_tokens(), &ctx.snap.rope, ctx.encoding);
    Ok(Some(lsp::SemanticTokensResult::Tokens(tokens)))
}

pub(crate) fn signature_help(
    ctx: &DocContext,
    p: lsp::SignatureHelpParams,
) -> HandlerResult<Option<lsp::SignatureHelp>> {
    let offset = ctx.offset(p.text_document_position_params.position);
    Ok(ctx
        .ide()
        .signature_help(offset)
        .map(|help| to_proto::signature_help(help, ctx.label_offsets)))
}
