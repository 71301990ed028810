//! The document's level: syntax errors, the pipeline's own keys, duplicate and unknown keys, wrong YAML types,
//! and the order of the passes (every step's header, then every body, then what went unused).

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn syntax_errors(&mut self, parse: &odp_syntax::Parse) {
        let mut starts = HashSet::new();
        for e in &parse.errors {
            // One diagnostic per place: the parser may explain the same character twice (a tab that is also an
            // indentation mismatch).
            if !starts.insert(e.range.start()) {
                continue;
            }
            let d = match e.kind {
                SyntaxErrorKind::Invalid => Diagnostic::new(Code::YamlSyntax, e.range, &e.message),
                SyntaxErrorKind::Unsupported => {
                    Diagnostic::new(Code::UnsupportedYaml, e.range, &e.message)
                }
                SyntaxErrorKind::UnquotedTemplate | SyntaxErrorKind::NeedsQuotes => {
                    let (code, title) = if e.kind == SyntaxErrorKind::UnquotedTemplate {
                        (Code::UnquotedTemplate, "Quote the template")
                    } else {
                        (Code::YamlSyntax, "Quote the value")
                    };
                    let raw = &self.text[e.range.as_range()];
                    let d = Diagnostic::new(code, e.range, &e.message);
                    // A value over several lines folds them; quoting it as written would keep the breaks.
                    if raw.contains('\n') {
                        d
                    } else {
                        let quoted = quote_yaml(raw);
                        d.with_help(format!("write {quoted}")).with_fix(
                            title,
                            Applicability::Safe,
                            vec![TextEdit {
                                range: e.range,
                                new_text: quoted,
                            }],
                        )
                    }
                }
            };
            self.push(d);
        }
    }

    /// After invalid YAML, the rest of its line is a guess of the parser's: a key it placed in another mapping, a
    /// list cut short. Checking that guess would report the same mistake again, so the checker's own diagnostics
    /// there are dropped.
    pub(super) fn drop_after_syntax_errors(&mut self, parse: &odp_syntax::Parse) {
        let spans: Vec<(usize, usize)> = parse
            .errors
            .iter()
            .filter(|e| e.kind == SyntaxErrorKind::Invalid)
            .map(|e| (e.range.start(), self.line_end(e.range.start())))
            .collect();
        if spans.is_empty() {
            return;
        }
        self.diags.retain(|d| {
            matches!(
                d.code,
                Code::YamlSyntax | Code::UnsupportedYaml | Code::UnquotedTemplate
            ) || !spans
                .iter()
                .any(|&(start, end)| (start..=end).contains(&d.range.start()))
        });
    }

    /// Where to show a problem with a node: its range, or for an empty value (`name:` with nothing after it) the
    /// key or `-` before it, so that editors underline something.
    pub(super) fn shown_range(&self, node: &Node) -> TextRange {
        let range = node.range;
        if !range.is_empty() {
            return range;
        }
        let at = range.start().min(self.text.len());
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let before = self.text[line_start..at].trim_end();
        let end = line_start + before.len();
        if before.ends_with('-') {
            return TextRange::new(end - 1, end);
        }
        if let Some(key) = before.strip_suffix(':') {
            let key = key.trim_end();
            let key_end = line_start + key.len();
            let key_start = match key.chars().last() {
                Some(q @ ('"' | '\'')) => key[..key.len() - 1]
                    .rfind(q)
                    .map_or(line_start, |i| line_start + i),
                _ => key
                    .rfind(|c: char| c.is_whitespace() || matches!(c, '{' | ',' | '[' | '-'))
                    .map_or(line_start, |i| line_start + i + 1),
            };
            if key_start < key_end {
                return TextRange::new(key_start, key_end);
            }
        }
        range
    }

    /// Reports keys a mapping holds twice (the first one stays in effect for the checker).
    /// Reports keys set twice in a mapping; returns whether there were any.
    pub(super) fn duplicate_keys(&mut self, node: &Node) -> bool {
        let Some(entries) = node.entries() else {
            return false;
        };
        if entries.len() < 2 {
            return false;
        }
        let mut any = false;
        // Most mappings have a handful of keys: comparing with the earlier ones beats hashing.
        let first_of = |i: usize| -> Option<TextRange> {
            let key = entries[i].key.as_str();
            entries[..i]
                .iter()
                .find(|e| e.key == key)
                .map(|e| e.key_range)
        };
        let mut seen: FxHashMap<&str, TextRange> = FxHashMap::default();
        for (i, e) in entries.iter().enumerate() {
            let first = if entries.len() <= 16 {
                first_of(i)
            } else {
                seen.get(e.key.as_str()).copied()
            };
            if let Some(first) = first {
                any = true;
                self.push(
                    Diagnostic::new(
                        Code::DuplicateKey,
                        e.key_range,
                        format!("`{}` is already set in this mapping", e.key),
                    )
                    .with_related(first, "first set here"),
                );
            } else if entries.len() > 16 {
                seen.insert(&e.key, e.key_range);
            }
        }
        any
    }

    pub(super) fn unknown_key(&mut self, entry: &Entry, place: Place) {
        let mut d = Diagnostic::new(
            Code::UnknownKey,
            entry.key_range,
            format!("unknown key `{}` in {}", entry.key, place.described()),
        );
        match suggest(&entry.key, place.names()) {
            Some(s) => {
                d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                    format!("Replace with `{s}`"),
                    Applicability::Unsafe,
                    vec![TextEdit {
                        range: entry.key_range,
                        new_text: s.to_string(),
                    }],
                );
            }
            None => {
                let allowed: Vec<&str> = place.names().collect();
                d = d.with_help(format!("expected one of {}", backticked(&allowed)))
            }
        }
        self.push(d);
    }

    pub(super) fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        if matches!(node.kind, NodeKind::Error) {
            return; // its syntax error is reported already
        }
        let message = if node.range.is_empty() && node.is_null() {
            format!("{what} is empty: it must be {expected}")
        } else {
            format!("{what} must be {expected}, found {}", node.kind_name())
        };
        self.push(Diagnostic::new(
            Code::WrongType,
            self.shown_range(node),
            message,
        ));
    }

    pub(super) fn root(&mut self, root: &'a Node) {
        let Some(entries) = root.entries() else {
            if !matches!(root.kind, NodeKind::Error) {
                self.wrong_type(
                    root,
                    "a pipeline",
                    "a mapping with `name`, `description`, `inputs`, `sources` and `transforms`",
                );
            }
            return;
        };
        self.duplicate_keys(root);
        let mut seen = FxHashSet::default();
        for entry in entries {
            if !seen.insert(entry.key.as_str()) {
                continue;
            }
            match entry.key.as_str() {
                "name" => {
                    if let Some(s) = self.string_value(&entry.value, "`name`") {
                        let chars = s.chars().count();
                        if !(3..=100).contains(&chars) {
                            self.push(Diagnostic::new(
                                Code::InvalidValue,
                                entry.value.range,
                                format!(
                                    "a pipeline name has 3 to 100 characters; this one has {chars}"
                                ),
                            ));
                        }
                        self.pipeline.name = Some(Spanned {
                            value: s.to_string(),
                            range: entry.value.range,
                        });
                    }
                }
                "description" => {
                    if let Some(s) = self.string_value(&entry.value, "`description`") {
                        self.pipeline.description = Some(Spanned {
                            value: s.to_string(),
                            range: entry.value.range,
                        });
                    }
                }
                "inputs" => self.inputs(&entry.value),
                "sources" | "transforms" => {}
                _ => self.unknown_key(entry, Place::Pipeline),
            }
        }
        if !self.env.fragment {
            for key in ["name", "sources"] {
                // `sorces:` is reported as a misspelling; its missing `sources` is the same mistake.
                if !seen.contains(key) && !misspelt(entries, Place::Pipeline, key) {
                    let at = TextRange::empty(root.range.start());
                    self.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            at,
                            format!("the pipeline has no `{key}`"),
                        )
                        .with_help("a pipeline needs at least `name` and `sources`"),
                    );
                }
            }
        }
        // Steps: first their names and methods, so that every template can see every step.
        let step_count: usize = [Section::Sources, Section::Transforms]
            .iter()
            .filter_map(|s| root.get(s.key())?.value.items().map(<[Node]>::len))
            .sum();
        // (Sized once: growing a vector of thousands of steps copies it and touches fresh pages each time.)
        self.pipeline.steps.reserve(step_count);
        if let Some(state) = &self.cache {
            self.refs.reserve(state.references_hint());
        }
        let mut step_nodes: Vec<&'a Node> = Vec::with_capacity(step_count);
        for section in [Section::Sources, Section::Transforms] {
            let Some(entry) = root.get(section.key()) else {
                continue;
            };
            self.pipeline
                .sections
                .push((section, entry.key_range.cover(entry.value.range)));
            let value = &entry.value;
            if value.is_null() {
                continue;
            }
            let Some(items) = value.items() else {
                self.wrong_type(value, &format!("`{}`", section.key()), "a list of steps");
                continue;
            };
            for item in items {
                self.step_header(item, section);
                step_nodes.push(item);
            }
        }
        if !self.env.fragment
            && let Some(entry) = root.get("sources")
            && !self
                .pipeline
                .steps
                .iter()
                .any(|s| s.section == Section::Sources)
            && (entry.value.is_null() || entry.value.items().is_some())
        {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    entry.key_range,
                    "the pipeline has no sources: it would fetch nothing",
                )
                .with_help("add a step under `sources:`, e.g. `- name: tweets` with `method: social.twitter.search`"),
            );
        }
        self.scope.steps_defined(self.pipeline.steps.len());
        self.bodies_begin();
        for (index, node) in step_nodes.iter().enumerate() {
            self.step_body_cached(index, node);
        }
        self.unused();
    }

    pub(super) fn string_value<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        match string_of(node) {
            Some(s) => Some(s),
            None => {
                if !matches!(node.kind, NodeKind::Error) {
                    self.wrong_type(node, what, "a string");
                }
                None
            }
        }
    }
}
