//! Editor features of odp over the analysis core: completion, hover, definition, references, rename, code actions,
//! document symbols, folding, semantic tokens, type hints and signature help. Results use byte ranges; the server
//! converts them to LSP.
//! Nothing here knows about LSP, and nothing here does IO.

mod code_actions;
mod completion;
mod context;
mod folding;
mod hover;
mod inlay_hints;
mod keys;
mod markdown;
mod navigation;
mod rename;
mod semantic_tokens;
mod signature_help;
mod symbols;

use odp_analysis::{Analysis, Environment, Method};

pub use code_actions::CodeAction;
pub use completion::{CompletionItem, CompletionKind};
pub use context::{CursorContext, PathPart, cursor_context};
pub use folding::{Fold, FoldKind};
pub use hover::Hover;
pub use inlay_hints::{HintOrigin, TypeHint};
pub use markdown::method_markdown;
pub use rename::RenameError;
pub use semantic_tokens::{SemanticToken, TokenKind};
pub use signature_help::{SignatureHelp, SignatureParam};
pub use symbols::{Symbol, SymbolKind};

/// What the features work on: a text, its analysis and the environment it was analysed in.
#[derive(Clone, Copy)]
pub struct Snapshot<'a> {
    pub text: &'a str,
    pub analysis: &'a Analysis,
    pub env: &'a Environment<'a>,
}

impl<'a> Snapshot<'a> {
    /// The registry method of step `step`, when it names one the registry has.
    fn method_of(&self, step: usize) -> Option<&'a Method> {
        let id = &self
            .analysis
            .pipeline
            .steps
            .get(step)?
            .method
            .as_ref()?
            .value;
        self.env.registry.get(id)
    }

    /// The step an item offset (from a cursor path) or an offset belongs to.
    pub(crate) fn step_at(&self, path: &[PathPart], offset: usize) -> Option<usize> {
        let steps = &self.analysis.pipeline.steps;
        let item = path.iter().rev().find_map(|p| match p {
            PathPart::Item(at) => Some(*at),
            PathPart::Key(_) => None,
        });
        if let Some(at) = item
            && let Some(i) = steps.iter().position(|s| s.range.start() == at)
        {
            return Some(i);
        }
        steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.range.start() <= offset)
            .max_by_key(|(_, s)| s.range.start())
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests;
