//! LSP values to the core's: positions to byte offsets, ranges, and file URIs to paths.

use std::path::PathBuf;

use lsp_types as lsp;
use odp_analysis::TextRange;
use ropey::Rope;

use crate::document::{Encoding, position_to_offset, range_from_lsp};

pub(crate) fn offset(rope: &Rope, position: lsp::Position, encoding: Encoding) -> usize {
    position_to_offset(rope, position, encoding)
}

pub(crate) fn text_range(rope: &Rope, range: lsp::Range, encoding: Encoding) -> TextRange {
    range_from_lsp(rope, range, encoding)
}

/// The path of a `file:` URI (percent-decoding and platform rules by the `url` crate); `None` for other schemes.
pub(crate) fn file_path(uri: &lsp::Uri) -> Option<PathBuf> {
    url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()
}

/// The document a request or notification is about (`textDocument.uri`), read before its params are.
pub(crate) fn text_document_uri(params: &serde_json::Value) -> Option<lsp::Uri> {
    params
        .get("textDocument")
        .and_then(|t| t.get("uri"))
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse().ok())
}
