//! A step's header (its name, method id, `retry` and `timeout`), checked for every step before any body, and its
//! body's method: known, of the right kind for its section, with a did-you-mean for a misspelt id.

use super::*;

impl<'a> Checker<'a> {
    /// Reads a step's name and method, so that templates of any step can refer to it.
    pub(super) fn step_header(&mut self, node: &'a Node, section: Section) {
        let index = self.pipeline.steps.len();
        let mut step = Step {
            section,
            range: node.range,
            name: None,
            description: None,
            method: None,
            params: Default::default(),
            params_range: None,
            retry: RetryPolicy::default(),
            timeout_ms: None,
            output: Ty::Any,
        };
        let Some(entries) = node.entries() else {
            if !matches!(node.kind, NodeKind::Error) {
                self.wrong_type(
                    node,
                    "a step",
                    "a mapping with `name`, `method` and `params`",
                );
            }
            self.pipeline.steps.push(step);
            return;
        };
        self.duplicate_keys(node);
        let mut missing_method = true;
        for entry in entries {
            match entry.key.as_str() {
                "name" if step.name.is_none() => {
                    let Some(name) = self.string_value(&entry.value, "a step's `name`") else {
                        continue;
                    };
                    if !is_identifier(name) {
                        self.push(Diagnostic::new(
                            Code::InvalidValue,
                            entry.value.range,
                            format!(
                                "`{name}` is not a valid step name: use letters, digits and `_`, not starting with a digit"
                            ),
                        ).with_help("templates address steps by name, e.g. `{{my_step.results}}`"));
                    }
                    if name == "inputs" {
                        self.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                entry.value.range,
                                "a step cannot be named `inputs`: `{{inputs.…}}` means the pipeline's inputs",
                            )
                            .with_help("choose another name"),
                        );
                    }
                    if let Some(first) = self.scope.define_step(name, index) {
                        let first_range = self.pipeline.steps[first]
                            .name
                            .as_ref()
                            .map_or(TextRange::empty(0), |n| n.range);
                        self.push(
                            Diagnostic::new(
                                Code::DuplicateStep,
                                entry.value.range,
                                format!("a step named `{name}` already exists"),
                            )
                            .with_related(first_range, "first defined here")
                            .with_help("step names are unique across sources and transforms"),
                        );
                    }
                    // (A notebook cell that defines a step of an earlier cell again replaces its result: no
                    // diagnostic.)
                    step.name = Some(Spanned {
                        value: name.to_string(),
                        range: entry.value.range,
                    });
                }
                "method" if step.method.is_none() => {
                    missing_method = false;
                    if let Some(id) = self.string_value(&entry.value, "`method`") {
                        step.method = Some(Spanned {
                            value: id.to_string(),
                            range: entry.value.range,
                        });
                        if let Some(m) = self.env.registry.get(id) {
                            step.output = m.output.clone();
                        }
                    }
                }
                "description" => {
                    step.description = self
                        .string_value(&entry.value, "`description`")
                        .map(str::to_string);
                }
                "params" | "name" | "method" => {}
                "retry" => step.retry = self.retry(&entry.value),
                "timeout" => {
                    step.timeout_ms = self.duration(&entry.value, "`timeout`");
                    if step.timeout_ms == Some(0) {
                        step.timeout_ms = None;
                        self.push(Diagnostic::new(
                            Code::InvalidValue,
                            entry.value.range,
                            "a timeout of zero would fail every attempt; leave `timeout` out for the default",
                        ));
                    }
                }
                _ => self.unknown_key(entry, Place::Step),
            }
        }
        // The step's `-`, where it has one, else its first character.
        let at = {
            let before = self.text[..node.range.start()].trim_end_matches(' ');
            if before.ends_with('-') {
                TextRange::new(before.len() - 1, before.len())
            } else {
                TextRange::empty(node.range.start())
            }
        };
        if step.name.is_none()
            && node.get("name").is_none()
            && !misspelt(entries, Place::Step, "name")
        {
            self.push(
                Diagnostic::new(Code::MissingKey, at, "the step has no `name`")
                    .with_help("give it a unique name, e.g. `name: tweets`"),
            );
        }
        if missing_method && !misspelt(entries, Place::Step, "method") {
            self.push(
                Diagnostic::new(Code::MissingKey, at, "the step has no `method`")
                    .with_help("name a registry method, e.g. `method: social.twitter.search`"),
            );
        }
        self.pipeline.steps.push(step);
    }

    pub(super) fn duration(&mut self, node: &Node, what: &str) -> Option<u64> {
        let raw = match node.scalar() {
            Some(s) if !s.value.is_empty() => s.value.as_str(),
            _ => {
                self.wrong_type(node, what, "a duration such as `30s`");
                return None;
            }
        };
        match parse_duration_ms(raw) {
            Some(ms) => Some(ms),
            None => {
                let mut d = Diagnostic::new(
                    Code::InvalidValue,
                    node.range,
                    format!(
                        "{what} must be a duration with a unit (`500ms`, `30s`, `5m`, `1h`), found `{raw}`"
                    ),
                );
                if let Some(fixed) = duration_suggestion(raw) {
                    d = d.with_help(format!("did you mean `{fixed}`?")).with_fix(
                        format!("Use `{fixed}`"),
                        Applicability::Unsafe,
                        vec![TextEdit {
                            range: node.range,
                            new_text: fixed,
                        }],
                    );
                }
                self.push(d);
                None
            }
        }
    }

    pub(super) fn retry(&mut self, node: &Node) -> RetryPolicy {
        let mut policy = RetryPolicy::default();
        let Some(entries) = node.entries() else {
            self.wrong_type(node, "`retry`", "a mapping");
            return policy;
        };
        self.duplicate_keys(node);
        for f in entries {
            match f.key.as_str() {
                "max_attempts" => match f.value.scalar().map(Scalar::resolve) {
                    Some(ScalarValue::Int(n)) if n >= 1 && n <= i128::from(u32::MAX) => {
                        policy.max_attempts = n as u32
                    }
                    Some(ScalarValue::Int(n)) => self.push(Diagnostic::new(
                        Code::InvalidValue,
                        f.value.range,
                        format!("`max_attempts` must be at least 1, found {n}"),
                    )),
                    _ => self.wrong_type(&f.value, "`max_attempts`", "an integer"),
                },
                "backoff_coefficient" => match f.value.scalar().map(Scalar::resolve) {
                    Some(ScalarValue::Int(n)) if n >= 1 => policy.backoff_coefficient = n as f64,
                    Some(ScalarValue::Float(x)) if x >= 1.0 && x.is_finite() => {
                        policy.backoff_coefficient = x
                    }
                    Some(ScalarValue::Int(_) | ScalarValue::Float(_)) => self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            f.value.range,
                            format!(
                                "`backoff_coefficient` must be at least 1.0, found {}",
                                &self.text[f.value.range.as_range()]
                            ),
                        )
                        .with_help("each wait is this many times the previous one; 1.0 keeps the waits equal"),
                    ),
                    _ => self.wrong_type(&f.value, "`backoff_coefficient`", "a number"),
                },
                "initial_interval" => {
                    if let Some(ms) = self.duration(&f.value, "`initial_interval`") {
                        policy.initial_interval_ms = ms;
                    }
                }
                "maximum_interval" => {
                    if let Some(ms) = self.duration(&f.value, "`maximum_interval`") {
                        policy.maximum_interval_ms = ms;
                    }
                }
                _ => self.unknown_key(f, Place::Retry),
            }
        }
        if policy.initial_interval_ms > policy.maximum_interval_ms
            && let Some(at) = node
                .get("initial_interval")
                .or_else(|| node.get("maximum_interval"))
        {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    at.value.range,
                    format!(
                        "`initial_interval` ({} ms) is longer than `maximum_interval` ({} ms)",
                        policy.initial_interval_ms, policy.maximum_interval_ms
                    ),
                )
                .with_help(
                    "the waits grow from `initial_interval` up to `maximum_interval` (default 60s)",
                ),
            );
        }
        policy
    }

    /// Checks a step's method and params, and the templates in them.
    pub(super) fn step_body(&mut self, index: usize, node: &'a Node) {
        let Some(entries) = node.entries() else {
            return;
        };
        let section = self.pipeline.steps[index].section;
        let method = self.pipeline.steps[index].method.clone();
        let method_entry = entries.iter().find(|e| e.key == "method");
        let registry = self.env.registry;
        let resolved: Option<&Method> = match &method {
            Some(id) if !is_method_id(&id.value) => {
                let d = Diagnostic::new(
                    Code::InvalidValue,
                    id.range,
                    format!(
                        "`{}` is not a method id: expected `domain.provider.action`",
                        id.value
                    ),
                );
                let d = self.method_suggestion(d, id);
                self.push(d);
                None
            }
            Some(id) => match registry.get(&id.value) {
                Some(m) => Some(m),
                None => {
                    let d = Diagnostic::new(
                        Code::UnknownMethod,
                        id.range,
                        format!("unknown method `{}`", id.value),
                    );
                    let d = self.method_suggestion(d, id);
                    self.push(d);
                    None
                }
            },
            None => None,
        };
        if let (Some(m), Some(id)) = (resolved, &method) {
            let expected = match section {
                Section::Sources => MethodKind::Source,
                Section::Transforms => MethodKind::Transform,
            };
            if m.spec.kind != expected {
                let (is, belongs) = match m.spec.kind {
                    MethodKind::Source => ("a source", "`sources`"),
                    MethodKind::Transform => ("a transform", "`transforms`"),
                };
                self.push(Diagnostic::new(
                    Code::MethodKindMismatch,
                    id.range,
                    format!("`{}` is {is} method; it belongs under {belongs}", id.value),
                ));
            }
        }
        let _ = method_entry;
        let params_entry = entries.iter().find(|e| e.key == "params");
        match params_entry {
            // `parms:` is reported as a misspelling of `params`.
            None if misspelt(entries, Place::Step, "params") => {}
            None => {
                if let Some(m) = resolved {
                    let required: Vec<&str> = m.required_params().collect();
                    if !required.is_empty() {
                        let at = method.as_ref().map_or(node.range, |m| m.range);
                        let edit = if matches!(node.kind, NodeKind::Mapping { flow: true, .. }) {
                            // `- {name: a, method: m}` → `- {name: a, method: m, params: {r: }}`
                            let close = node.range.end().saturating_sub(1);
                            let fields: Vec<String> =
                                required.iter().map(|r| format!("{r}: ")).collect();
                            (self.text.as_bytes().get(close) == Some(&b'}')).then(|| {
                                let at = self.text[..close].trim_end().len();
                                TextEdit {
                                    range: TextRange::empty(at),
                                    new_text: format!(", params: {{{}}}", fields.join(", ")),
                                }
                            })
                        } else {
                            let indent = " ".repeat(self.col_of(entries[0].key_range.start()));
                            let nl = self.newline();
                            let mut text = format!("{nl}{indent}params:");
                            for r in &required {
                                text.push_str(&format!("{nl}{indent}  {r}: "));
                            }
                            Some(TextEdit {
                                range: TextRange::empty(self.line_end(at.end())),
                                new_text: text,
                            })
                        };
                        let mut d = Diagnostic::new(
                            Code::MissingParam,
                            at,
                            format!(
                                "missing required param{} {} of `{}`",
                                if required.len() > 1 { "s" } else { "" },
                                backticked(&required),
                                m.id()
                            ),
                        )
                        .with_help(match param_docs(m, &required) {
                            Some(docs) => format!("the step has no `params`; {docs}"),
                            None => "the step has no `params`".to_string(),
                        });
                        if let Some(edit) = edit {
                            d = d.with_fix(
                                "Add the required params",
                                Applicability::Unsafe,
                                vec![edit],
                            );
                        }
                        self.push(d);
                    }
                }
            }
            Some(entry) => {
                self.pipeline.steps[index].params_range = Some(entry.value.range);
                if entry.value.is_null() {
                    if let Some(m) = resolved {
                        self.missing_params(m, entry, &[]);
                    }
                } else if entry.value.entries().is_none() {
                    self.wrong_type(
                        &entry.value,
                        "`params`",
                        "a mapping of param names to values",
                    );
                } else {
                    self.params(index, section, resolved, entry);
                }
            }
        }
    }

    /// A did-you-mean fix for a misspelt method id, or the list of similar methods.
    pub(super) fn method_suggestion(&self, d: Diagnostic, id: &Spanned<String>) -> Diagnostic {
        let candidates = self.env.registry.methods().iter().map(Method::id);
        match suggest(&id.value, candidates) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")).with_fix(
                format!("Replace with `{s}`"),
                Applicability::Unsafe,
                vec![TextEdit {
                    range: id.range,
                    new_text: s.to_string(),
                }],
            ),
            None => d.with_help(self.method_help(&id.value)),
        }
    }

    pub(super) fn method_help(&self, id: &str) -> String {
        // Offer the methods of the same domain, or the first few of the registry.
        let domain = id.split('.').next().unwrap_or("");
        let mut same: Vec<&str> = self
            .env
            .registry
            .methods()
            .iter()
            .map(Method::id)
            .filter(|m| m.split('.').next() == Some(domain))
            .collect();
        if same.is_empty() {
            same = self
                .env
                .registry
                .methods()
                .iter()
                .map(Method::id)
                .take(6)
                .collect();
        }
        if same.is_empty() {
            return "the registry has no methods".into();
        }
        format!("known methods include {}", backticked(&same))
    }
}

/// A YAML 1.1 boolean word, which YAML 1.2 (and odp) reads as a string.
pub(super) fn yaml11_bool(word: &str) -> Option<bool> {
    match word.to_ascii_lowercase().as_str() {
        "yes" | "y" | "on" => Some(true),
        "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// A duration written without a unit or with a spelt-out one (`30`, `5 minutes`, `2 hrs`), as odp writes it.
pub(super) fn duration_suggestion(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" => "s",
        "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        _ => return None,
    };
    let fixed = format!("{number}{unit}");
    parse_duration_ms(&fixed).map(|_| fixed)
}
