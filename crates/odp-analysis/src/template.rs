//! Templates in param values: `{{ root.path }}`, parsed for the checker and resolved against real JSON by the
//! executor.
//!
//! Grammar (docs/language.md has the full text):
//!
//! ```text
//! string    = { literal | escape | template } ;
//! escape    = "\{{" ;                              (* a literal "{{" *)
//! template  = "{{" , ws , path , ws , "}}" ;
//! path      = ident , { accessor } ;
//! accessor  = "." , ident | "[" , [ "-" ] , digit , { digit } , "]" | "[*]" | "[" , quoted , "]" ;
//! ident     = ( letter | "_" ) , { letter | digit | "_" } ;
//! ws        = { " " | "\t" } ;
//! ```

use std::fmt;

use serde_json::Value;

/// A byte range within the scalar's decoded value.
pub type Span = std::ops::Range<usize>;

/// The most accessors (`.field`, `[0]`, `[*]`) one template path may have. Real paths have a handful; the bound
/// keeps every walk over a path (type resolution, run-time resolution, the nested lists `[*]` builds) shallow, so
/// that no input can exhaust the stack of whichever thread checks or runs it.
pub const MAX_PATH_ACCESSORS: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub enum Accessor {
    Field(String),
    Index(i64),
    /// `[*]`: the rest of the path applies to every item of a list.
    Wildcard,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub accessor: Accessor,
    pub span: Span,
}

/// `root.path[0].more`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub root: String,
    pub root_span: Span,
    pub segments: Vec<Segment>,
}

/// One `{{ ... }}` in a string.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// From `{{` to `}}` inclusive.
    pub span: Span,
    /// Shared with the references the checker makes of it.
    pub path: std::sync::Arc<Path>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TemplateError {
    pub span: Span,
    pub message: String,
}

/// A string split into its templates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateString {
    pub templates: Vec<Template>,
    /// True when the string is exactly one template (white space around it allowed): its value keeps the
    /// referenced JSON type.
    pub whole: bool,
    pub errors: Vec<TemplateError>,
}

impl TemplateString {
    pub fn has_templates(&self) -> bool {
        !self.templates.is_empty() || !self.errors.is_empty()
    }
}

/// Whether a string may hold a template at all (the fast path for the many strings that do not).
pub fn may_contain_template(s: &str) -> bool {
    s.contains("{{")
}

/// Splits a string into its templates.
pub fn parse(s: &str) -> TemplateString {
    crate::work::add(s.len());
    let mut out = TemplateString::default();
    let b = s.as_bytes();
    let mut i = 0;
    let mut literal_text = false;
    while i < b.len() {
        // Byte comparisons: `i` walks bytes and may stand inside a multi-byte character.
        if b[i] == b'\\' && b[i + 1..].starts_with(b"{{") {
            literal_text = true;
            i += 3;
            continue;
        }
        if !b[i..].starts_with(b"{{") {
            if !b[i].is_ascii_whitespace() {
                literal_text = true;
            }
            i += 1;
            continue;
        }
        let open = i;
        let Some(close_rel) = s[open + 2..].find("}}") else {
            out.errors.push(TemplateError {
                span: open..s.len(),
                message: "`{{` is never closed: expected `}}`".into(),
            });
            return out;
        };
        let close = open + 2 + close_rel;
        match parse_path(s, open + 2, close) {
            Ok(path) => out.templates.push(Template {
                span: open..close + 2,
                path: std::sync::Arc::new(path),
            }),
            Err(e) => out.errors.push(e),
        }
        i = close + 2;
    }
    out.whole = out.templates.len() == 1 && out.errors.is_empty() && !literal_text;
    out
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn parse_path(s: &str, start: usize, end: usize) -> Result<Path, TemplateError> {
    let b = s.as_bytes();
    let mut i = start;
    while i < end && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    let mut stop = end;
    while stop > i && (b[stop - 1] == b' ' || b[stop - 1] == b'\t') {
        stop -= 1;
    }
    if i == stop {
        return Err(TemplateError {
            span: start - 2..end + 2,
            message: "empty template: expected a path such as `inputs.query` or `step.results`"
                .into(),
        });
    }
    // One character at `at` (a whole character, so that the span never splits one).
    let err = |at: usize, message: String| TemplateError {
        span: at..(at + s[at..].chars().next().map_or(0, char::len_utf8))
            .min(stop)
            .max(at),
        message,
    };
    let ident = |i: &mut usize| -> Option<String> {
        if *i < stop && is_ident_start(b[*i]) {
            let from = *i;
            while *i < stop && is_ident_char(b[*i]) {
                *i += 1;
            }
            Some(s[from..*i].to_string())
        } else {
            None
        }
    };
    let root_start = i;
    let Some(root) = ident(&mut i) else {
        return Err(err(
            i,
            format!(
                "expected a step name or `inputs`, found `{}`",
                char_at(s, i)
            ),
        ));
    };
    let root_span = root_start..i;
    let mut segments = Vec::new();
    while i < stop {
        if segments.len() == MAX_PATH_ACCESSORS {
            return Err(TemplateError {
                span: root_start..stop,
                message: format!(
                    "this template path is too long: at most {MAX_PATH_ACCESSORS} accessors (`.field`, `[0]`, `[*]`) may follow `{root}`"
                ),
            });
        }
        let seg_start = i;
        match b[i] {
            b'.' => {
                i += 1;
                let Some(name) = ident(&mut i) else {
                    let found = if i < stop {
                        format!("`{}`", char_at(s, i))
                    } else {
                        "the end of the template".into()
                    };
                    return Err(err(
                        i.min(stop.saturating_sub(1)).max(seg_start),
                        format!("expected a field name after `.`, found {found}"),
                    ));
                };
                segments.push(Segment {
                    accessor: Accessor::Field(name),
                    span: seg_start..i,
                });
            }
            b'[' => {
                let Some(close_rel) = s[i..stop].find(']') else {
                    return Err(err(i, "`[` is never closed: expected `]`".into()));
                };
                let inner = s[i + 1..i + close_rel].trim();
                let accessor = if inner == "*" {
                    Accessor::Wildcard
                } else if let Ok(n) = inner.parse::<i64>() {
                    Accessor::Index(n)
                } else if inner.len() >= 2
                    && ((inner.starts_with('"') && inner.ends_with('"'))
                        || (inner.starts_with('\'') && inner.ends_with('\'')))
                {
                    Accessor::Field(inner[1..inner.len() - 1].to_string())
                } else {
                    return Err(TemplateError {
                        span: i..i + close_rel + 1,
                        message: format!(
                            "expected an index (`[0]`), `[*]` or a quoted key (`[\"key\"]`), found `[{inner}]`"
                        ),
                    });
                };
                i += close_rel + 1;
                segments.push(Segment {
                    accessor,
                    span: seg_start..i,
                });
            }
            _ => {
                return Err(err(
                    i,
                    format!(
                        "unexpected `{}` in template path: expected `.field`, `[index]` or `}}}}`",
                        char_at(s, i)
                    ),
                ));
            }
        }
    }
    Ok(Path {
        root,
        root_span,
        segments,
    })
}

fn char_at(s: &str, i: usize) -> char {
    s[i..].chars().next().unwrap_or(' ')
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.root)?;
        for seg in &self.segments {
            match &seg.accessor {
                Accessor::Field(name) if name.bytes().all(is_ident_char) && !name.is_empty() => {
                    write!(f, ".{name}")?
                }
                Accessor::Field(name) => write!(f, "[{name:?}]")?,
                Accessor::Index(n) => write!(f, "[{n}]")?,
                Accessor::Wildcard => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

/// Why a template could not be resolved at run time.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ResolveError {
    #[error("`{0}` is not defined")]
    UnknownRoot(String),
    #[error("`{path}` has no field `{field}`")]
    MissingField { path: String, field: String },
    #[error("`{path}` has no item {index} (it has {len})")]
    IndexOutOfRange {
        path: String,
        index: i64,
        len: usize,
    },
    #[error("`{path}` is {found}, not {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Path {
    /// Follows the path's segments from the root's value.
    pub fn resolve(&self, root: &Value) -> Result<Value, ResolveError> {
        resolve_segments(root, &self.segments, self.root.clone())
    }
}

fn resolve_segments(
    value: &Value,
    segments: &[Segment],
    mut path: String,
) -> Result<Value, ResolveError> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(value.clone());
    };
    match &first.accessor {
        Accessor::Field(name) => {
            let Value::Object(map) = value else {
                return Err(ResolveError::WrongType {
                    path,
                    expected: "an object",
                    found: json_kind(value),
                });
            };
            let Some(next) = map.get(name) else {
                return Err(ResolveError::MissingField {
                    path,
                    field: name.clone(),
                });
            };
            path.push('.');
            path.push_str(name);
            resolve_segments(next, rest, path)
        }
        Accessor::Index(n) => {
            let Value::Array(items) = value else {
                return Err(ResolveError::WrongType {
                    path,
                    expected: "a list",
                    found: json_kind(value),
                });
            };
            let idx = if *n < 0 { items.len() as i64 + n } else { *n };
            let Some(next) = usize::try_from(idx).ok().and_then(|i| items.get(i)) else {
                return Err(ResolveError::IndexOutOfRange {
                    path,
                    index: *n,
                    len: items.len(),
                });
            };
            path.push_str(&format!("[{n}]"));
            resolve_segments(next, rest, path)
        }
        Accessor::Wildcard => {
            let Value::Array(items) = value else {
                return Err(ResolveError::WrongType {
                    path,
                    expected: "a list",
                    found: json_kind(value),
                });
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(resolve_segments(item, rest, format!("{path}[{i}]"))?);
            }
            Ok(Value::Array(out))
        }
    }
}

/// How a value renders when interpolated into a longer string: strings as they are, null as nothing, numbers and
/// booleans as JSON, lists and objects as compact JSON.
pub fn render(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Evaluates a param string against the values of its roots (`inputs` or a step's result): a whole template keeps
/// the referenced JSON type, anything else interpolates into a string. Strings without templates come back as
/// they are (with `\{{` unescaped).
pub fn evaluate<'v>(
    s: &str,
    lookup: impl Fn(&str) -> Option<&'v Value>,
) -> Result<Value, EvaluateError> {
    let parsed = parse(s);
    if let Some(e) = parsed.errors.first() {
        return Err(EvaluateError::Syntax(e.message.clone()));
    }
    let value_of = |t: &Template| -> Result<Value, EvaluateError> {
        let root =
            lookup(&t.path.root).ok_or_else(|| ResolveError::UnknownRoot(t.path.root.clone()))?;
        Ok(t.path.resolve(root)?)
    };
    if parsed.whole {
        return value_of(&parsed.templates[0]);
    }
    let mut out = String::with_capacity(s.len());
    let mut cursor = 0;
    for t in &parsed.templates {
        out.push_str(&s[cursor..t.span.start].replace("\\{{", "{{"));
        out.push_str(&render(&value_of(t)?));
        cursor = t.span.end;
    }
    out.push_str(&s[cursor..].replace("\\{{", "{{"));
    Ok(Value::String(out))
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EvaluateError {
    #[error("bad template: {0}")]
    Syntax(String),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_paths_and_spans() {
        let t = parse("{{ tweets.results[*].text }}");
        assert!(t.whole);
        assert!(t.errors.is_empty());
        let p = &t.templates[0].path;
        assert_eq!(p.to_string(), "tweets.results[*].text");
        assert_eq!(p.root_span, 3..9);
        assert_eq!(p.segments[1].accessor, Accessor::Wildcard);
        assert_eq!(t.templates[0].span, 0..28);

        let t = parse("about {{inputs.query}} in {{inputs.lang}}");
        assert!(!t.whole);
        assert_eq!(t.templates.len(), 2);

        let t = parse(r"\{{not a template}} {{a.b}}");
        assert_eq!(t.templates.len(), 1);
        assert!(!t.whole);
    }

    #[test]
    fn reports_errors_with_spans() {
        let t = parse("{{tweets.}}");
        assert_eq!(
            t.errors[0].message,
            "expected a field name after `.`, found the end of the template"
        );
        let t = parse("x {{tweets.results");
        assert_eq!(t.errors[0].span, 2..18);
        let t = parse("{{ }}");
        assert!(t.errors[0].message.starts_with("empty template"));
        let t = parse("{{a[x]}}");
        assert!(
            t.errors[0].message.contains("found `[x]`"),
            "{:?}",
            t.errors
        );
        let t = parse("{{a b}}");
        assert!(
            t.errors[0].message.contains("unexpected ` `"),
            "{:?}",
            t.errors
        );
    }

    #[test]
    fn paths_longer_than_the_bound_are_one_error_over_the_path() {
        let at_bound = format!("{{{{q{}}}}}", ".a".repeat(MAX_PATH_ACCESSORS));
        let t = parse(&at_bound);
        assert!(t.errors.is_empty(), "{:?}", t.errors);
        assert_eq!(t.templates[0].path.segments.len(), MAX_PATH_ACCESSORS);

        for accessor in [".a", "[0]", "[*]", "[\"k\"]"] {
            let s = format!("x {{{{q{}}}}} y", accessor.repeat(1_000_000));
            let t = parse(&s);
            assert!(t.templates.is_empty());
            assert_eq!(t.errors.len(), 1, "{:?}", t.errors);
            assert_eq!(t.errors[0].span, 4..s.len() - 4);
            assert!(t.errors[0].message.contains("at most 64 accessors"));
        }
    }

    #[test]
    fn non_ascii_text_keeps_spans_on_character_boundaries() {
        let s = "résumé 😀 {{tweets.ré}} {{日本}}";
        let t = parse(s);
        assert_eq!(t.templates.len(), 0);
        assert_eq!(t.errors.len(), 2, "{:?}", t.errors);
        for e in &t.errors {
            assert!(
                s.is_char_boundary(e.span.start) && s.is_char_boundary(e.span.end),
                "{e:?}"
            );
        }
        assert_eq!(&s[t.errors[0].span.clone()], "é");
        assert_eq!(&s[t.errors[1].span.clone()], "日");
        let t = parse("é{{a.b}}😀");
        assert_eq!(t.templates[0].span, 2..9);
    }

    #[test]
    fn evaluates_whole_values_with_their_type_and_interpolates_the_rest() {
        let tweets = json!({"results": [{"text": "a", "n": 1}, {"text": "b", "n": 2}]});
        let inputs = json!({"query": "ai", "limit": 5, "flag": null});
        let lookup = |root: &str| match root {
            "tweets" => Some(&tweets),
            "inputs" => Some(&inputs),
            _ => None,
        };
        assert_eq!(
            evaluate("{{tweets.results[*].text}}", lookup).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(evaluate("{{ inputs.limit }}", lookup).unwrap(), json!(5));
        assert_eq!(
            evaluate("{{tweets.results[-1].n}}", lookup).unwrap(),
            json!(2)
        );
        assert_eq!(
            evaluate(
                "q={{inputs.query}} n={{inputs.limit}} f={{inputs.flag}} l={{tweets.results[*].n}}",
                lookup
            )
            .unwrap(),
            json!("q=ai n=5 f= l=[1,2]")
        );
        assert_eq!(evaluate(r"\{{x}}", lookup).unwrap(), json!("{{x}}"));
        assert_eq!(
            evaluate("{{tweets.results[5]}}", lookup)
                .unwrap_err()
                .to_string(),
            "`tweets.results` has no item 5 (it has 2)"
        );
        assert_eq!(
            evaluate("{{nope.x}}", lookup).unwrap_err().to_string(),
            "`nope` is not defined"
        );
        assert_eq!(
            evaluate("{{tweets.results.text}}", lookup)
                .unwrap_err()
                .to_string(),
            "`tweets.results` is a list, not an object"
        );
    }
}
