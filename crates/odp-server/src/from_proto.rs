//! LSP values to the core's: positions to byte offsets, ranges, and file URIs to paths.

use std::path::PathBuf;

use lsp_types as lsp;
use odp_analysis::TextRange;
use odp_syntax::PositionEncoding;
use ropey::Rope;

use crate::document::{position_to_offset, range_from_lsp};
use crate::to_proto;

/// The encoding an LSP kind names; `None` for a kind LSP does not define.
pub(crate) fn position_encoding(kind: &lsp::PositionEncodingKind) -> Option<PositionEncoding> {
    [
        PositionEncoding::Utf8,
        PositionEncoding::Utf16,
        PositionEncoding::Utf32,
    ]
    .into_iter()
    .find(|encoding| to_proto::position_encoding(*encoding) == *kind)
}

pub(crate) fn offset(rope: &Rope, position: lsp::Position, encoding: PositionEncoding) -> usize {
    position_to_offset(rope, position, encoding)
}

pub(crate) fn text_range(rope: &Rope, range: lsp::Range, encoding: PositionEncoding) -> TextRange {
    range_from_lsp(rope, range, encoding)
}

/// The path of a `file:` URI (percent-decoding and platform rules by the `url` crate); `None` for other schemes.
pub(crate) fn file_path(uri: &lsp::Uri) -> Option<PathBuf> {
    url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()
}

/// The document a request or notification is about (`textDocument.uri`), read before its params are. A resolve
/// request (`inlayHint/resolve`) is about the document its item's `data` names (`data.uri`).
pub(crate) fn text_document_uri(params: &serde_json::Value) -> Option<lsp::Uri> {
    params
        .get("textDocument")
        .and_then(|t| t.get("uri"))
        .or_else(|| params.get("data").and_then(|d| d.get("uri")))
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_encodings_go_to_lsp_and_back() {
        for encoding in [
            PositionEncoding::Utf8,
            PositionEncoding::Utf16,
            PositionEncoding::Utf32,
        ] {
            let kind = to_proto::position_encoding(encoding);
            assert_eq!(position_encoding(&kind), Some(encoding), "{kind:?}");
        }
        assert_eq!(
            position_encoding(&lsp::PositionEncodingKind::new("utf-7")),
            None
        );
    }
}
