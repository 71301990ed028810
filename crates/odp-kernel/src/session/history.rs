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

/// A glob (`*`, `?`) matched against the whole text, like IPython's history search.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None::<usize>, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
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
