//! The core's values to LSP: ranges, diagnostics, completions, symbols, folds, semantic tokens and edits.

use std::collections::HashMap;

use lsp_types as lsp;
use odp_analysis::{Analysis, TextRange};
use odp_ide::{CompletionKind, FoldKind, SymbolKind, TokenKind};
use odp_syntax::PositionEncoding;
use ropey::Rope;
use serde_json::json;

use crate::document::{offset_to_position, range_to_lsp};

pub(crate) fn position_encoding(encoding: PositionEncoding) -> lsp::PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => lsp::PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => lsp::PositionEncodingKind::UTF32,
    }
}

pub(crate) fn range(rope: &Rope, range: TextRange, encoding: PositionEncoding) -> lsp::Range {
    range_to_lsp(rope, range, encoding)
}

pub(crate) fn location(
    uri: &lsp::Uri,
    rope: &Rope,
    r: TextRange,
    encoding: PositionEncoding,
) -> lsp::Location {
    lsp::Location {
        uri: uri.clone(),
        range: range(rope, r, encoding),
    }
}

pub(crate) fn diagnostics(
    uri: &lsp::Uri,
    rope: &Rope,
    analysis: &Analysis,
    encoding: PositionEncoding,
) -> Vec<lsp::Diagnostic> {
    analysis
        .diagnostics
        .iter()
        .map(|d| {
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str(&format!("\nhelp: {help}"));
            }
            lsp::Diagnostic {
                range: range(rope, d.range, encoding),
                severity: Some(match d.severity {
                    odp_analysis::Severity::Error => lsp::DiagnosticSeverity::ERROR,
                    odp_analysis::Severity::Warning => lsp::DiagnosticSeverity::WARNING,
                }),
                code: Some(lsp::NumberOrString::String(d.code.id().into())),
                code_description: d
                    .code
                    .doc_url()
                    .parse()
                    .ok()
                    .map(|href| lsp::CodeDescription { href }),
                source: Some("odp".into()),
                message,
                related_information: (!d.related.is_empty()).then(|| {
                    d.related
                        .iter()
                        .map(|r| lsp::DiagnosticRelatedInformation {
                            location: location(uri, rope, r.range, encoding),
                            message: r.message.clone(),
                        })
                        .collect()
                }),
                tags: None,
                data: Some(json!({"name": d.code.name()})),
            }
        })
        .collect()
}

pub(crate) fn completion_item(
    item: &odp_ide::CompletionItem,
    rope: &Rope,
    encoding: PositionEncoding,
    snippets: bool,
) -> lsp::CompletionItem {
    let (text, format) = if item.snippet && snippets {
        (item.insert_text.clone(), lsp::InsertTextFormat::SNIPPET)
    } else if item.snippet {
        (
            strip_snippet(&item.insert_text),
            lsp::InsertTextFormat::PLAIN_TEXT,
        )
    } else {
        (item.insert_text.clone(), lsp::InsertTextFormat::PLAIN_TEXT)
    };
    lsp::CompletionItem {
        label: item.label.clone(),
        kind: Some(match item.kind {
            CompletionKind::Key => lsp::CompletionItemKind::PROPERTY,
            CompletionKind::Method => lsp::CompletionItemKind::FUNCTION,
            CompletionKind::Param => lsp::CompletionItemKind::FIELD,
            CompletionKind::Value => lsp::CompletionItemKind::ENUM_MEMBER,
            CompletionKind::Step => lsp::CompletionItemKind::VARIABLE,
            CompletionKind::Input => lsp::CompletionItemKind::VARIABLE,
            CompletionKind::Field => lsp::CompletionItemKind::FIELD,
        }),
        detail: item.detail.clone(),
        documentation: item.documentation.as_ref().map(|d| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: d.clone(),
            })
        }),
        sort_text: Some(item.sort_text.clone()),
        filter_text: Some(item.label.clone()),
        insert_text_format: Some(format),
        text_edit: Some(lsp::CompletionTextEdit::Edit(lsp::TextEdit {
            range: range(rope, item.replace, encoding),
            new_text: text,
        })),
        ..Default::default()
    }
}

/// Edits of one document, as a workspace edit.
// lsp_types keys workspace edits by `Uri`, which clippy flags for interior mutability it never uses here.
#[allow(clippy::mutable_key_type)]
pub(crate) fn workspace_edit(
    uri: &lsp::Uri,
    rope: &Rope,
    edits: &[odp_analysis::TextEdit],
    encoding: PositionEncoding,
) -> lsp::WorkspaceEdit {
    let mut changes = HashMap::new();
    changes.insert(
        uri.clone(),
        edits
            .iter()
            .map(|e| lsp::TextEdit {
                range: range(rope, e.range, encoding),
                new_text: e.new_text.clone(),
            })
            .collect(),
    );
    lsp::WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    }
}

/// The formatter's edits (byte offsets into the document's text).
pub(crate) fn text_edits(
    rope: &Rope,
    edits: &[odp_fmt::TextEdit],
    encoding: PositionEncoding,
) -> Vec<lsp::TextEdit> {
    edits
        .iter()
        .map(|e| lsp::TextEdit {
            range: range(rope, TextRange::new(e.start, e.end), encoding),
            new_text: e.new_text.clone(),
        })
        .collect()
}

/// A document symbol with its children. Recursion is bounded: symbols nest pipeline → section → step or input,
/// whatever the document holds.
pub(crate) fn document_symbol(
    s: odp_ide::Symbol,
    rope: &Rope,
    encoding: PositionEncoding,
) -> lsp::DocumentSymbol {
    #[allow(deprecated)]
    lsp::DocumentSymbol {
        name: s.name,
        detail: s.detail,
        kind: match s.kind {
            SymbolKind::Pipeline => lsp::SymbolKind::MODULE,
            SymbolKind::Section => lsp::SymbolKind::NAMESPACE,
            SymbolKind::Step => lsp::SymbolKind::FUNCTION,
            SymbolKind::Input => lsp::SymbolKind::VARIABLE,
        },
        tags: None,
        deprecated: None,
        range: range(rope, s.range, encoding),
        selection_range: range(rope, s.selection_range, encoding),
        children: Some(
            s.children
                .into_iter()
                .map(|c| document_symbol(c, rope, encoding))
                .collect(),
        ),
    }
}

pub(crate) fn folding_range(f: odp_ide::Fold) -> lsp::FoldingRange {
    lsp::FoldingRange {
        start_line: f.start_line,
        end_line: f.end_line,
        kind: Some(match f.kind {
            FoldKind::Region => lsp::FoldingRangeKind::Region,
            FoldKind::Comment => lsp::FoldingRangeKind::Comment,
        }),
        ..Default::default()
    }
}

/// Semantic tokens, relative to each other as LSP encodes them; tokens across lines are left out.
pub(crate) fn semantic_tokens(
    tokens: impl IntoIterator<Item = odp_ide::SemanticToken>,
    rope: &Rope,
    encoding: PositionEncoding,
) -> lsp::SemanticTokens {
    let mut data = Vec::new();
    let (mut prev_line, mut prev_start) = (0u32, 0u32);
    for t in tokens {
        let start = offset_to_position(rope, t.range.start(), encoding);
        let end = offset_to_position(rope, t.range.end(), encoding);
        if start.line != end.line {
            continue;
        }
        let delta_line = start.line - prev_line;
        let delta_start = if delta_line == 0 {
            start.character - prev_start
        } else {
            start.character
        };
        data.push(lsp::SemanticToken {
            delta_line,
            delta_start,
            length: end.character - start.character,
            token_type: TokenKind::LEGEND
                .iter()
                .position(|k| *k == t.kind)
                .unwrap_or(0) as u32,
            token_modifiers_bitset: 0,
        });
        prev_line = start.line;
        prev_start = start.character;
    }
    lsp::SemanticTokens {
        result_id: None,
        data,
    }
}

/// A snippet as plain text, for clients without snippet support: placeholders become their first choice or
/// nothing.
pub(crate) fn strip_snippet(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
            continue;
        }
        if c != '$' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            let mut inner = String::new();
            for n in chars.by_ref() {
                if n == '}' {
                    break;
                }
                inner.push(n);
            }
            // `1|a,b|` → `a`; `1:default` → `default`.
            if let Some((_, rest)) = inner.split_once('|') {
                out.push_str(rest.split([',', '|']).next().unwrap_or(""));
            } else if let Some((_, default)) = inner.split_once(':') {
                out.push_str(default);
            }
        } else {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        }
    }
    out
}

/// One signature. Its parameters are offsets into the label (UTF-16, as LSP counts them) for a client that takes
/// them, else their text.
pub(crate) fn signature_help(
    help: odp_ide::SignatureHelp,
    label_offsets: bool,
) -> lsp::SignatureHelp {
    let markdown = |value: String| {
        lsp::Documentation::MarkupContent(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value,
        })
    };
    let utf16 = |bytes: usize| help.label[..bytes].encode_utf16().count() as u32;
    let parameters = help
        .parameters
        .iter()
        .map(|p| lsp::ParameterInformation {
            label: if label_offsets {
                lsp::ParameterLabel::LabelOffsets([utf16(p.label.start), utf16(p.label.end)])
            } else {
                lsp::ParameterLabel::Simple(help.label[p.label.clone()].to_string())
            },
            documentation: Some(markdown(p.documentation.clone())),
        })
        .collect::<Vec<_>>();
    // No param active: an index past the last, which highlights none (0 would highlight the first).
    let active = help.active_parameter.unwrap_or(parameters.len()) as u32;
    lsp::SignatureHelp {
        signatures: vec![lsp::SignatureInformation {
            label: help.label.clone(),
            documentation: Some(markdown(help.documentation)),
            parameters: Some(parameters),
            active_parameter: Some(active),
        }],
        active_signature: Some(0),
        active_parameter: Some(active),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Label offsets count UTF-16 code units, not bytes: `é` is two bytes and one unit, `😀` four and two.
    #[test]
    fn signature_label_offsets_are_utf16() {
        let label = "m(é: string, 😀?: integer)".to_string();
        let second = label.find('😀').unwrap();
        let help = odp_ide::SignatureHelp {
            parameters: vec![
                odp_ide::SignatureParam {
                    name: "é".into(),
                    label: 2..label.find(',').unwrap(),
                    documentation: String::new(),
                },
                odp_ide::SignatureParam {
                    name: "😀".into(),
                    label: second..label.len() - 1,
                    documentation: String::new(),
                },
            ],
            label,
            documentation: String::new(),
            active_parameter: Some(1),
        };
        let proto = signature_help(help.clone(), true);
        let offsets: Vec<_> = proto.signatures[0]
            .parameters
            .iter()
            .flatten()
            .map(|p| p.label.clone())
            .collect();
        assert_eq!(
            offsets,
            [
                lsp::ParameterLabel::LabelOffsets([2, 11]),
                lsp::ParameterLabel::LabelOffsets([13, 25]),
            ]
        );
        assert_eq!(proto.active_parameter, Some(1));
        let proto = signature_help(help, false);
        assert_eq!(
            proto.signatures[0].parameters.as_ref().unwrap()[1].label,
            lsp::ParameterLabel::Simple("😀?: integer".into())
        );
    }
}
