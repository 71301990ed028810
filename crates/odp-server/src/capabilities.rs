//! What the server offers, and the position encoding it agrees with the client.

use lsp_types as lsp;
use odp_ide::TokenKind;
use odp_syntax::PositionEncoding;

use crate::{from_proto, to_proto};

/// UTF-8 when the client offers it (no conversion), else UTF-16, which every client understands.
pub(crate) fn negotiate_encoding(params: &lsp::InitializeParams) -> PositionEncoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(list)
            if list.iter().any(|kind| {
                from_proto::position_encoding(kind) == Some(PositionEncoding::Utf8)
            }) =>
        {
            PositionEncoding::Utf8
        }
        _ => PositionEncoding::Utf16,
    }
}

pub(crate) fn server_capabilities(encoding: PositionEncoding) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(to_proto::position_encoding(encoding)),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                ..Default::default()
            },
        )),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec!["{".into(), ".".into(), ":".into()]),
            ..Default::default()
        }),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![
                    lsp::CodeActionKind::QUICKFIX,
                    lsp::CodeActionKind::REFACTOR_REWRITE,
                ]),
                ..Default::default()
            },
        )),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        document_range_formatting_provider: Some(lsp::OneOf::Left(true)),
        folding_range_provider: Some(lsp::FoldingRangeProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(
            lsp::SemanticTokensServerCapabilities::SemanticTokensOptions(
                lsp::SemanticTokensOptions {
                    legend: lsp::SemanticTokensLegend {
                        token_types: TokenKind::LEGEND
                            .iter()
                            .map(|k| lsp::SemanticTokenType::new(k.lsp_name()))
                            .collect(),
                        token_modifiers: Vec::new(),
                    },
                    full: Some(lsp::SemanticTokensFullOptions::Bool(true)),
                    range: None,
                    ..Default::default()
                },
            ),
        ),
        execute_command_provider: Some(lsp::ExecuteCommandOptions {
            commands: vec![
                crate::draft::COMMAND.into(),
                crate::runs::RUN_PIPELINE.into(),
                crate::runs::RUN_STEP.into(),
                crate::runs::CANCEL_RUN.into(),
                crate::runs::SHOW_RESULT.into(),
                crate::handlers::graph::SHOW_GRAPH.into(),
            ],
            ..Default::default()
        }),
        code_lens_provider: Some(lsp::CodeLensOptions {
            resolve_provider: Some(false),
        }),
        inlay_hint_provider: Some(lsp::OneOf::Right(
            lsp::InlayHintServerCapabilities::Options(lsp::InlayHintOptions {
                resolve_provider: Some(true),
                work_done_progress_options: Default::default(),
            }),
        )),
        signature_help_provider: Some(lsp::SignatureHelpOptions {
            trigger_characters: Some(vec![":".into(), "\n".into()]),
            retrigger_characters: Some(vec![",".into()]),
            work_done_progress_options: Default::default(),
        }),
        ..Default::default()
    }
}
