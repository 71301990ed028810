//! `textDocument/formatting` and `textDocument/rangeFormatting`: the formatter (`odp-fmt`) with the document's
//! `[format]` settings, answered as the minimal edits between the text and its formatted form, so that the cursor
//! and marks away from the changes stay put. A file the formatter leaves alone (syntax errors) gets an error
//! saying why, and no edit.

use lsp_server::ErrorCode;
use lsp_types as lsp;

use crate::dispatch::{DocContext, HandlerError, HandlerResult};
use crate::{from_proto, to_proto};

pub(crate) fn formatting(
    ctx: &DocContext,
    _: lsp::DocumentFormattingParams,
) -> HandlerResult<Option<Vec<lsp::TextEdit>>> {
    let text = ctx.snap.text();
    let formatted = odp_fmt::format(text, &ctx.snap.workspace.format).map_err(refused)?;
    let edits = odp_fmt::minimal_edits(text, &formatted);
    Ok(Some(to_proto::text_edits(
        &ctx.snap.rope,
        &edits,
        ctx.encoding,
    )))
}

pub(crate) fn range_formatting(
    ctx: &DocContext,
    p: lsp::DocumentRangeFormattingParams,
) -> HandlerResult<Option<Vec<lsp::TextEdit>>> {
    let range = from_proto::text_range(&ctx.snap.rope, p.range, ctx.encoding);
    let edits = odp_fmt::format_range(
        ctx.snap.text(),
        range.as_range(),
        &ctx.snap.workspace.format,
    )
    .map_err(refused)?;
    Ok(Some(to_proto::text_edits(
        &ctx.snap.rope,
        &edits,
        ctx.encoding,
    )))
}

fn refused(e: odp_fmt::FormatError) -> HandlerError {
    HandlerError::new(ErrorCode::RequestFailed, e.to_string())
}
