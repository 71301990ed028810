//! The step or input a name or template names: its definition and its uses.

use odp_analysis::{Target, TextRange};

use crate::Snapshot;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Symbol_ {
    Step(usize),
    Input(String),
}

impl Snapshot<'_> {
    /// The name of a step as written, without quotes.
    pub(crate) fn name_range(&self, range: TextRange) -> TextRange {
        let raw = &self.text[range.as_range()];
        if raw.len() >= 2 && (raw.starts_with('"') || raw.starts_with('\'')) {
            TextRange::new(range.start() + 1, range.end() - 1)
        } else {
            range
        }
    }

    /// The source range of the input name in `{{inputs.NAME...}}`, when positions are exact.
    fn input_name_range(&self, r: &odp_analysis::Reference) -> Option<TextRange> {
        let Target::Input(name) = &r.target else {
            return None;
        };
        let start = r.root_range.end() + 1;
        let end = start + name.len();
        (self.text.get(r.root_range.as_range()) == Some("inputs")
            && self.text.get(start..end) == Some(&**name))
        .then(|| TextRange::new(start, end))
    }

    /// What the cursor names: a step (index) or an input (name), and the range of the name under the cursor.
    pub(crate) fn symbol_at(&self, offset: usize) -> Option<(Symbol_, TextRange)> {
        let p = &self.analysis.pipeline;
        for (i, s) in p.steps.iter().enumerate() {
            if let Some(n) = &s.name
                && n.range.contains_inclusive(offset)
            {
                return Some((Symbol_::Step(i), self.name_range(n.range)));
            }
        }
        for input in &p.inputs {
            if input.name.range.contains_inclusive(offset) {
                return Some((
                    Symbol_::Input(input.name.value.clone()),
                    self.name_range(input.name.range),
                ));
            }
        }
        for r in &self.analysis.references {
            match &r.target {
                Target::Step(i)
                    if r.root_range.contains_inclusive(offset)
                        && self.text.get(r.root_range.as_range()) == Some(r.path.root.as_str()) =>
                {
                    return Some((Symbol_::Step(*i), r.root_range));
                }
                Target::Input(name) => {
                    if let Some(range) = self.input_name_range(r)
                        && range.contains_inclusive(offset)
                    {
                        return Some((Symbol_::Input(name.to_string()), range));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Where the step or input under the cursor is defined.
    pub fn definition(&self, offset: usize) -> Option<TextRange> {
        let (symbol, _) = self.symbol_at(offset)?;
        self.definition_of(&symbol)
    }

    pub(crate) fn definition_of(&self, symbol: &Symbol_) -> Option<TextRange> {
        let p = &self.analysis.pipeline;
        match symbol {
            Symbol_::Step(i) => p.steps[*i].name.as_ref().map(|n| self.name_range(n.range)),
            Symbol_::Input(name) => p.input(name).map(|i| self.name_range(i.name.range)),
        }
    }

    pub(crate) fn uses_of(&self, symbol: &Symbol_) -> Vec<TextRange> {
        self.analysis
            .references
            .iter()
            .filter_map(|r| match (&r.target, symbol) {
                (Target::Step(i), Symbol_::Step(j))
                    if i == j
                        && self.text.get(r.root_range.as_range()) == Some(r.path.root.as_str()) =>
                {
                    Some(r.root_range)
                }
                (Target::Input(a), Symbol_::Input(b)) if **a == **b => self.input_name_range(r),
                _ => None,
            })
            .collect()
    }

    /// Every use of the step or input under the cursor, with its definition when asked.
    pub fn references(&self, offset: usize, include_declaration: bool) -> Vec<TextRange> {
        let Some((symbol, _)) = self.symbol_at(offset) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if include_declaration && let Some(d) = self.definition_of(&symbol) {
            out.push(d);
        }
        out.extend(self.uses_of(&symbol));
        out
    }
}
