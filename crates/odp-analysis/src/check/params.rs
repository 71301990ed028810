//! A step's `params` against its method's schema: missing and unknown params, values of the wrong type or shape,
//! and templates in params checked by type.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn missing_params(&mut self, m: &Method, entry: &Entry, present: &[&str]) {
        let missing: Vec<&str> = m
            .required_params()
            .filter(|r| !present.contains(r))
            .collect();
        if missing.is_empty() {
            return;
        }
        let nl = self.newline();
        let (anchor, indent) = match entry.value.entries() {
            Some(entries)
                if !entries.is_empty()
                    && !matches!(entry.value.kind, NodeKind::Mapping { flow: true, .. }) =>
            {
                let last = entries.last().expect("not empty");
                (
                    self.line_end(last.value.range.end().max(last.key_range.end())),
                    self.col_of(entries[0].key_range.start()),
                )
            }
            _ => (
                self.line_end(entry.key_range.end()),
                self.col_of(entry.key_range.start()) + 2,
            ),
        };
        let flow = matches!(entry.value.kind, NodeKind::Mapping { flow: true, .. });
        let edits = if flow {
            // `params: {a: 1}` → `params: {a: 1, b: }`
            let close = entry.value.range.end().saturating_sub(1);
            if self.text.as_bytes().get(close) != Some(&b'}') {
                Vec::new() // never closed: its syntax error comes first
            } else {
                let before = self.text[entry.value.range.start()..close].trim_end();
                let at = entry.value.range.start() + before.len();
                let sep = match before.chars().last() {
                    Some('{') => "",
                    Some(',') => " ",
                    _ => ", ",
                };
                let text: Vec<String> = missing.iter().map(|r| format!("{r}: ")).collect();
                let mut new_text = format!("{sep}{}", text.join(", "));
                if self.text[at..].starts_with(' ') {
                    new_text.pop(); // `{a: 1, }` → `{a: 1, b: }`, not `b:  }`
                }
                vec![TextEdit {
                    range: TextRange::empty(at),
                    new_text,
                }]
            }
        } else {
            // Block params, or `params:` without a value: one line per param below the last.
            let pad = " ".repeat(indent);
            let mut text = String::new();
            for r in &missing {
                text.push_str(&format!("{nl}{pad}{r}: "));
            }
            vec![TextEdit {
                range: TextRange::empty(anchor),
                new_text: text,
            }]
        };
        let mut d = Diagnostic::new(
            Code::MissingParam,
            entry.key_range,
            format!(
                "missing required param{} {} of `{}`",
                if missing.len() > 1 { "s" } else { "" },
                backticked(&missing),
                m.id()
            ),
        );
        if let Some(docs) = param_docs(m, &missing) {
            d = d.with_help(docs);
        }
        if !edits.is_empty() {
            d = d.with_fix("Add the required params", Applicability::Unsafe, edits);
        }
        self.push(d);
    }

    pub(super) fn params(
        &mut self,
        index: usize,
        section: Section,
        method: Option<&'a Method>,
        entry: &'a Entry,
    ) {
        let node = &entry.value;
        let duplicates = self.duplicate_keys(node);
        let entries = node.entries().unwrap_or_default();
        if let Some(m) = method {
            let present: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
            self.missing_params(m, entry, &present);
            let declared: Vec<&str> = m.params().map(|(k, _)| k).collect();
            if m.closed_params() {
                for e in entries {
                    if !declared.contains(&e.key.as_str()) {
                        let mut d = Diagnostic::new(
                            Code::UnknownParam,
                            e.key_range,
                            format!("`{}` has no param `{}`", m.id(), e.key),
                        );
                        match suggest(
                            &e.key,
                            declared.iter().copied().filter(|d| !present.contains(d)),
                        ) {
                            Some(s) => {
                                d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                                    format!("Replace with `{s}`"),
                                    Applicability::Unsafe,
                                    vec![TextEdit {
                                        range: e.key_range,
                                        new_text: s.to_string(),
                                    }],
                                );
                            }
                            None if declared.is_empty() => d = d.with_help("it takes no params"),
                            None => {
                                d = d.with_help(format!("its params are {}", backticked(&declared)))
                            }
                        }
                        self.push(d);
                    }
                }
            }
        }
        // Templates: resolve each, then validate the params with each template replaced by a placeholder of its
        // type. Places that hold templates are checked by type only.
        //
        // When the method's schema only declares properties at its top level, each param is validated on its own
        // (missing and unknown params are reported above, with fixes): a param that is a whole template is then
        // checked by type alone, with no placeholder and no schema errors nobody reads, and a param without
        // templates is converted to JSON once, for both the validation and the step's params.
        let mut templated: Vec<(String, bool)> = Vec::new();
        let mut params_json = serde_json::Map::with_capacity(entries.len());
        // (A param set twice is validated once, with its last value, as the whole instance does.)
        let per_param = !duplicates && method.is_some_and(Method::validates_params_one_by_one);
        let mut instance = (!per_param).then(|| serde_json::Map::with_capacity(entries.len()));
        let mut errors: Vec<(String, jsonschema::ValidationError<'static>)> = Vec::new();
        for e in entries {
            let mut pointer = String::with_capacity(e.key.len() + 16);
            pointer.push('/');
            push_pointer_key(&mut pointer, &e.key);
            let expected = method.and_then(|m| m.param_schema(&e.key));
            let before = templated.len();
            let value = self.param_node(
                index,
                section,
                &e.value,
                &mut pointer,
                expected,
                &mut templated,
            );
            let has_templates = templated.len() > before;
            let value = match (&mut instance, value) {
                (Some(instance), value) => {
                    instance.insert(e.key.to_string(), value.into_value());
                    None
                }
                (None, ParamValue::Template(_)) => None,
                (None, ParamValue::Value(value)) => {
                    if let Some(validator) = method.and_then(|m| m.param_validator(&e.key))
                        && !validator.is_valid(&value)
                    {
                        for err in validator.iter_errors(&value) {
                            let at = format!("{pointer}{}", err.instance_path().as_str());
                            errors.push((at, err.to_owned()));
                        }
                    }
                    (!has_templates).then_some(value)
                }
            };
            let json = value.unwrap_or_else(|| node_to_serde(&e.value));
            params_json.insert(e.key.to_string(), json);
        }
        self.pipeline.steps[index].params = std::sync::Arc::new(params_json);
        let Some(m) = method else {
            return;
        };
        if let Some(instance) = instance
            && let Some(validator) = m.validator()
        {
            let instance = Value::Object(instance);
            // Most steps are valid: the boolean check is far cheaper than collecting (no) errors.
            if !validator.is_valid(&instance) {
                for err in validator.iter_errors(&instance) {
                    errors.push((err.instance_path().as_str().to_string(), err.to_owned()));
                }
            }
        }
        for (pointer, err) in errors {
            let kind = err.kind();
            if pointer.is_empty()
                && matches!(
                    kind,
                    jsonschema::error::ValidationErrorKind::Required { .. }
                        | jsonschema::error::ValidationErrorKind::AdditionalProperties { .. }
                )
            {
                continue; // reported above, with fixes
            }
            if templated
                .iter()
                .any(|(t, _)| pointer == *t || pointer.starts_with(&format!("{t}/")))
            {
                continue;
            }
            let target = node_at_pointer(node, &pointer).unwrap_or(node);
            let label = param_label(&pointer);
            let range = self.shown_range(target);
            let schema = schema_at_pointer(m.params_schema(), &pointer);
            let mut d = self.invalid_param(kind, &label, target, range, &err.masked().to_string());
            if d.help.is_none()
                && let Some(about) = schema
                    .and_then(|s| s.get("description"))
                    .and_then(Value::as_str)
            {
                d = d.with_help(format!("`{label}`: {about}"));
            }
            self.push(d);
        }
    }

    /// An ODP304 diagnostic in words a pipeline author reads: the param, what it must be, what it is.
    pub(super) fn invalid_param(
        &self,
        kind: &jsonschema::error::ValidationErrorKind,
        label: &str,
        target: &Node,
        range: TextRange,
        fallback: &str,
    ) -> Diagnostic {
        use jsonschema::error::ValidationErrorKind as K;
        let found = || -> String {
            match target.scalar() {
                Some(s) => format!("`{}`", s.value),
                None => target.kind_name().to_string(),
            }
        };
        let number = |v: &Value| v.to_string();
        let plural = |n: u64, one: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {one}s")
            }
        };
        let message = match kind {
            K::Type { kind } if range != target.range => {
                format!(
                    "`{label}` is empty: it must be {}",
                    describe_type_kind(kind)
                )
            }
            K::Type { kind } if describe_type_kind(kind).contains("boolean") => {
                let word = target
                    .scalar()
                    .filter(|s| s.style == ScalarStyle::Plain)
                    .map(|s| s.value.as_str());
                let mut d = Diagnostic::new(
                    Code::InvalidParam,
                    range,
                    format!(
                        "`{label}` must be {}, found {}",
                        describe_type_kind(kind),
                        target.kind_name()
                    ),
                );
                if let Some((word, b)) = word.and_then(|w| yaml11_bool(w).map(|b| (w, b))) {
                    d = d
                        .with_help(format!("YAML 1.2 reads `{word}` as a string: write `{b}`"))
                        .with_fix(
                            format!("Use `{b}`"),
                            Applicability::Safe,
                            vec![TextEdit {
                                range,
                                new_text: b.to_string(),
                            }],
                        );
                }
                return d;
            }
            K::Type { kind } => format!(
                "`{label}` must be {}, found {}",
                describe_type_kind(kind),
                target.kind_name()
            ),
            K::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut d = Diagnostic::new(
                    Code::InvalidParam,
                    range,
                    format!(
                        "`{label}` must be one of {}, found {}",
                        backticked(&allowed),
                        found()
                    ),
                );
                let written = target.scalar().map(|s| s.value.as_str()).unwrap_or("");
                if let Some(sug) = suggest(written, allowed.iter().map(String::as_str)) {
                    d = d.with_help(format!("did you mean `{sug}`?")).with_fix(
                        format!("Replace with `{sug}`"),
                        Applicability::Unsafe,
                        vec![TextEdit {
                            range: target.range,
                            new_text: sug.to_string(),
                        }],
                    );
                }
                return d;
            }
            K::Minimum { limit } => format!(
                "`{label}` must be at least {}, found {}",
                number(limit),
                found()
            ),
            K::Maximum { limit } => format!(
                "`{label}` must be at most {}, found {}",
                number(limit),
                found()
            ),
            K::ExclusiveMinimum { limit } => {
                format!(
                    "`{label}` must be greater than {}, found {}",
                    number(limit),
                    found()
                )
            }
            K::ExclusiveMaximum { limit } => {
                format!(
                    "`{label}` must be less than {}, found {}",
                    number(limit),
                    found()
                )
            }
            K::MinLength { limit: 1 } => format!("`{label}` must not be empty"),
            K::MinLength { limit } => format!(
                "`{label}` must have at least {}",
                plural(*limit, "character")
            ),
            K::MaxLength { limit } => {
                let len = target.scalar().map_or(0, |s| s.value.chars().count());
                format!(
                    "`{label}` must have at most {}; this one has {len}",
                    plural(*limit, "character")
                )
            }
            K::Pattern { pattern } => {
                format!("`{label}` must match `{pattern}`, found {}", found())
            }
            K::MinItems { limit } => {
                format!("`{label}` must have at least {}", plural(*limit, "item"))
            }
            K::MaxItems { limit } => {
                format!("`{label}` must have at most {}", plural(*limit, "item"))
            }
            K::Required { property } => format!(
                "`{label}` is missing its required field `{}`",
                property.as_str().unwrap_or_default()
            ),
            K::AdditionalProperties { unexpected } => {
                format!("`{label}` does not accept {}", backticked(unexpected))
            }
            _ => format!("`{label}`: {fallback}"),
        };
        Diagnostic::new(Code::InvalidParam, range, message)
    }

    /// Checks a param's value (templates, their types) and returns what validates it: the value itself, or, for a
    /// template, the type whose placeholder stands in for it.
    pub(super) fn param_node(
        &mut self,
        index: usize,
        section: Section,
        node: &Node,
        pointer: &mut String,
        expected: Option<&Value>,
        templated: &mut Vec<(String, bool)>,
    ) -> ParamValue {
        ParamValue::Value(match &node.kind {
            NodeKind::Mapping { entries, .. } => {
                self.duplicate_keys(node);
                let mut map = serde_json::Map::with_capacity(entries.len());
                for e in entries {
                    let len = pointer.len();
                    pointer.push('/');
                    push_pointer_key(pointer, &e.key);
                    let sub = expected
                        .and_then(|s| s.get("properties"))
                        .and_then(|p| p.get(e.key.as_str()));
                    let v = self
                        .param_node(index, section, &e.value, pointer, sub, templated)
                        .into_value();
                    pointer.truncate(len);
                    map.insert(e.key.to_string(), v);
                }
                Value::Object(map)
            }
            NodeKind::Sequence { items, .. } => {
                let sub = expected.and_then(|s| s.get("items"));
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    out.push(
                        self.param_node(index, section, item, pointer, sub, templated)
                            .into_value(),
                    );
                    pointer.truncate(len);
                }
                Value::Array(out)
            }
            NodeKind::Scalar(s)
                if (s.style != ScalarStyle::Plain
                    || s.unquoted_template
                    || matches!(s.resolve(), ScalarValue::Str(_)))
                    && template::may_contain_template(&s.value) =>
            {
                let parsed = template::parse(&s.value);
                let place = ScalarPlace::new(self.text, node, s);
                for e in &parsed.errors {
                    let range = place.range(e.span.clone());
                    self.push(Diagnostic::new(Code::TemplateSyntax, range, &e.message));
                }
                if !parsed.errors.is_empty() {
                    self.mark_partial_uses(&s.value);
                }
                let mut whole_ty = None;
                for t in &parsed.templates {
                    let ty = self.reference(index, section, &place, t);
                    if parsed.whole {
                        whole_ty = Some(ty);
                    }
                }
                if !parsed.has_templates() {
                    return ParamValue::Value(node_to_serde(node));
                }
                templated.push((pointer.clone(), parsed.whole));
                match whole_ty {
                    Some(ty) => {
                        if let Some(expected_schema) = expected {
                            let expected_ty = Ty::from_schema(expected_schema);
                            if !ty.fits(&expected_ty) {
                                let t = &parsed.templates[0];
                                let mut d = Diagnostic::new(
                                    Code::TypeMismatch,
                                    place.range(t.span.clone()),
                                    format!(
                                        "`{{{{{}}}}}` is {ty}, but `{}` expects {expected_ty}",
                                        t.path,
                                        param_label(pointer)
                                    ),
                                );
                                if let Some(input) = self.input_of(&t.path) {
                                    let declared = input
                                        .type_name
                                        .clone()
                                        .unwrap_or_else(|| input.ty.to_string());
                                    let range = input.name.range;
                                    d = d.with_related(
                                        range,
                                        format!(
                                            "`{}` is declared as `{declared}` here",
                                            input.name.value
                                        ),
                                    );
                                    if let Some(wanted) = input_type_name(&expected_ty) {
                                        d = d.with_help(format!(
                                            "declare input `{}` with `type: {wanted}`",
                                            input.name.value
                                        ));
                                    }
                                }
                                if let Some(fix) = projection_hint(&t.path, &ty, &expected_ty) {
                                    let template = format!("{{{{{fix}}}}}");
                                    d = d.with_help(format!("did you mean `{template}`?"));
                                    if let Some(range) = place.exact(t.span.clone()) {
                                        // An unquoted template is quoted on the way.
                                        let new_text = if range == node.range {
                                            quote_yaml(&template)
                                        } else {
                                            template.clone()
                                        };
                                        d = d.with_fix(
                                            format!("Use `{template}`"),
                                            Applicability::Unsafe,
                                            vec![TextEdit { range, new_text }],
                                        );
                                    }
                                } else if matches!(expected_ty, Ty::String)
                                    && matches!(ty, Ty::Int | Ty::Number | Ty::Bool)
                                {
                                    d = d.with_help(format!(
                                        "a template inside a longer string is rendered as text, e.g. `\"{{{{{}}}}} …\"`",
                                        t.path
                                    ));
                                }
                                self.push(d);
                            }
                        }
                        return ParamValue::Template(ty);
                    }
                    None => {
                        // Text around a template makes a string, whatever the template's type.
                        if parsed.errors.is_empty()
                            && let Some(expected_schema) = expected
                        {
                            let expected_ty = Ty::from_schema(expected_schema);
                            if !Ty::String.fits(&expected_ty) {
                                self.push(
                                    Diagnostic::new(
                                        Code::TypeMismatch,
                                        node.range,
                                        format!(
                                            "text around a template makes a string, but `{}` expects {expected_ty}",
                                            param_label(pointer)
                                        ),
                                    )
                                    .with_help("a template keeps its type only when it is the whole value, e.g. `\"{{inputs.limit}}\"`"),
                                );
                            }
                        }
                        return ParamValue::Template(Ty::String);
                    }
                }
            }
            _ => node_to_serde(node),
        })
    }
}

/// What stands for a param's value in the instance its schema validates.
pub(super) enum ParamValue {
    /// The value as written.
    Value(Value),
    /// A template (checked by type): a placeholder of its type, if the instance needs one.
    Template(Ty),
}

impl ParamValue {
    fn into_value(self) -> Value {
        match self {
            ParamValue::Value(value) => value,
            ParamValue::Template(ty) => ty.placeholder(),
        }
    }
}

/// What the registry says about some params: "`query`: Search query." for each one it describes (the first
/// sentence of its description).
pub(super) fn param_docs(m: &Method, names: &[&str]) -> Option<String> {
    let docs: Vec<String> = names
        .iter()
        .filter_map(|name| {
            let about = m
                .params_schema()
                .get("properties")?
                .get(*name)?
                .get("description")?
                .as_str()?;
            let first = match about.find(". ") {
                Some(i) => &about[..=i],
                None => about,
            };
            Some(format!("`{name}`: {first}"))
        })
        .collect();
    (!docs.is_empty()).then(|| docs.join(" "))
}

pub(super) fn describe_type_kind(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    let name = |t: &jsonschema::JsonType| -> &'static str {
        match t.to_string().as_str() {
            "array" => "a list",
            "boolean" => "a boolean",
            "integer" => "an integer",
            "null" => "null",
            "number" => "a number",
            "object" => "a mapping",
            _ => "a string",
        }
    };
    match kind {
        TypeKind::Single(t) => name(t).to_string(),
        TypeKind::Multiple(ts) => {
            let names: Vec<&str> = ts.iter().map(|t| name(&t)).collect();
            names.join(" or ")
        }
    }
}

/// Appends `key` to a JSON pointer, escaped (`~` → `~0`, `/` → `~1`), without allocating for the usual key.
pub(super) fn push_pointer_key(pointer: &mut String, key: &str) {
    if !key.bytes().any(|b| b == b'~' || b == b'/') {
        pointer.push_str(key);
        return;
    }
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// `/texts/0` → `texts[0]`.
pub(super) fn param_label(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    if out.is_empty() { "params".into() } else { out }
}

/// The schema of the value at a JSON pointer into the params.
pub(super) fn schema_at_pointer<'s>(schema: &'s Value, pointer: &str) -> Option<&'s Value> {
    let mut cur = schema;
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        cur = match cur.get("properties").and_then(|p| p.get(&seg)) {
            Some(s) => s,
            None if seg.parse::<usize>().is_ok() => cur.get("items")?,
            None => return None,
        };
    }
    Some(cur)
}

pub(super) fn node_at_pointer<'n>(node: &'n Node, pointer: &str) -> Option<&'n Node> {
    let mut cur = node;
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        cur = match &cur.kind {
            NodeKind::Mapping { entries, .. } => &entries.iter().find(|e| e.key == seg)?.value,
            NodeKind::Sequence { items, .. } => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}
