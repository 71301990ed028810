//! Renaming a step or an input: its definition and every template using it.

use odp_analysis::{TextEdit, TextRange};

use crate::Snapshot;
use crate::navigation::Symbol_;

/// Why a rename cannot be made (the server answers the request with this message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    #[error("only step and input names can be renamed")]
    NotASymbol,
    #[error("`{0}` is not a valid name: use letters, digits and `_`, not starting with a digit")]
    InvalidName(String),
    #[error("`{0}` is already used")]
    Taken(String),
}

impl Snapshot<'_> {
    /// The range a rename at `offset` would change, or why there is nothing to rename.
    pub fn prepare_rename(&self, offset: usize) -> Result<TextRange, RenameError> {
        self.symbol_at(offset)
            .map(|(_, range)| range)
            .ok_or(RenameError::NotASymbol)
    }

    /// The edits renaming the step or input under the cursor, its definition and every template using it.
    pub fn rename(&self, offset: usize, new_name: &str) -> Result<Vec<TextEdit>, RenameError> {
        let (symbol, _) = self.symbol_at(offset).ok_or(RenameError::NotASymbol)?;
        let mut chars = new_name.chars();
        let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(RenameError::InvalidName(new_name.to_string()));
        }
        let p = &self.analysis.pipeline;
        let taken = match &symbol {
            Symbol_::Step(_) => new_name == "inputs" || p.step(new_name).is_some(),
            Symbol_::Input(_) => p.input(new_name).is_some(),
        };
        if taken {
            return Err(RenameError::Taken(new_name.to_string()));
        }
        let mut edits: Vec<TextEdit> = self
            .definition_of(&symbol)
            .into_iter()
            .chain(self.uses_of(&symbol))
            .map(|range| TextEdit {
                range,
                new_text: new_name.to_string(),
            })
            .collect();
        edits.sort_by_key(|e| e.range.start);
        edits.dedup_by_key(|e| e.range.start);
        Ok(edits)
    }
}
