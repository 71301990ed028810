//! Editor features of odp over the analysis core: completion, hover, definition, references, rename, code actions,
//! document symbols, folding and semantic tokens. Results use byte ranges; the server converts them to LSP.
//! Nothing here knows about LSP, and nothing here does IO.

mod code_actions;
mod completion;
mod context;
mod folding;
mod hover;
mod keys;
mod markdown;
mod navigation;
mod rename;
mod semantic_tokens;
mod symbols;

use odp_analysis::{Analysis, Environment, Method};

pub use code_actions::CodeAction;
pub use completion::{CompletionItem, CompletionKind};
pub use context::{CursorContext, PathPart, cursor_context};
pub use folding::{Fold, FoldKind};
pub use hover::Hover;
pub use markdown::method_markdown;
pub use rename::RenameError;
pub use semantic_tokens::{SemanticToken, TokenKind};
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
}

#[cfg(test)]
mod tests;
