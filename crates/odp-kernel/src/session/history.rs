//! The cells stored in the history (`execute_request` with `store_history`) and their execution count; the search
//! of `history_request`.

use super::Session;

/// A cell in the history: its execution count, its code and the text of its result.
#[derive(Clone, Debug)]
pub struct HistoryItem {
    pub line: usize,
    pub input: String,
    pub output: String,
}

/// The matcher of a `history_request` search pattern: a glob matched against the whole text, like IPython's history
/// search (`*` any text, `?` one character, `[...]` a class; line breaks and `/` are ordinary characters, and a
/// backslash is a literal one). `None` for a pattern globset cannot read, which matches nothing.
pub fn history_matcher(pattern: &str) -> Option<globset::GlobMatcher> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(false)
        .allow_unclosed_class(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

/// Whether `text` matches the history search `pattern` (see [`history_matcher`]).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    history_matcher(pattern).is_some_and(|m| m.is_match(text))
}

impl Session {
    /// The execution count of a new cell: incremented when the cell goes into the history.
    pub fn start_cell(&mut self, store_history: bool) -> usize {
        if store_history {
            self.execution_count += 1;
        }
        self.execution_count
    }

    pub fn end_cell(&mut self, count: usize, code: &str, output: String, store_history: bool) {
        if store_history {
            self.history.push(HistoryItem {
                line: count,
                input: code.to_string(),
                output,
            });
        }
    }

    pub fn history(&self) -> &[HistoryItem] {
        &self.history
    }
}
