//! The official YAML test suite (yaml-test-suite, its `data` branch, vendored in `tests/yaml-test-suite/`): every
//! valid case reads exactly as its `in.json` says, or is rejected as unsupported with the feature that
//! `unsupported.txt` names for it; every error case is rejected. A new silent difference, valid YAML called invalid,
//! or a stale line of the list fails the test.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{JsonValue, Parse, SyntaxErrorKind, parse};

const CASES: &str = include_str!("../../tests/yaml-test-suite/cases.json");
/// `ID  keyword  why`: a valid case odp rejects as unsupported, and a word its diagnostic must contain.
const UNSUPPORTED: &str = include_str!("../../tests/yaml-test-suite/unsupported.txt");

struct Case {
    id: String,
    name: String,
    yaml: String,
    /// The documents `in.json` holds; for a valid case without it, what its event stream reads as, where JSON can
    /// say it; `None` when neither can.
    json: Option<Vec<Value>>,
    fail: bool,
}

fn cases() -> Vec<Case> {
    let raw: Vec<Value> = serde_json::from_str(CASES).expect("cases.json is JSON");
    raw.into_iter()
        .map(|c| {
            let text = |k: &str| c[k].as_str().map(str::to_owned);
            let json = match text("json") {
                Some(j) => Some(
                    serde_json::Deserializer::from_str(&j)
                        .into_iter::<Value>()
                        .collect::<Result<Vec<_>, _>>()
                        .expect("in.json holds JSON documents"),
                ),
                None => text("tree")
                    .and_then(|t| events_to_json(&t))
                    .or_else(|| reviewed_reading(&text("id").expect("id"))),
            };
            Case {
                id: text("id").expect("id"),
                name: text("name").unwrap_or_default(),
                yaml: text("yaml").expect("yaml"),
                json,
                fail: c["fail"] == Value::Bool(true),
            }
        })
        .collect()
}

/// Valid cases the vendored data gives neither JSON nor events for, read by hand from the specification.
fn reviewed_reading(id: &str) -> Option<Vec<Value>> {
    let json = match id {
        // `foo: |-\n \tbar` without a final line break: the content indentation is 1 (the first line's spaces);
        // the tab after it is content; strip chomping drops the break. As 96NN/00, which ends with one.
        "96NN/01" => r#"{"foo": "\tbar"}"#,
        // `- |+\n   ` (no final line break): a keep scalar of no content lines. Its only line has no line break
        // (`l-empty` needs one), so nothing is kept.
        "JEF9/02" => r#"[""]"#,
        _ => return None,
    };
    Some(vec![serde_json::from_str(json).expect("JSON")])
}

/// The reviewed list: case id → the word the unsupported diagnostic names.
fn unsupported_list() -> BTreeMap<&'static str, &'static str> {
    UNSUPPORTED
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            let id = words.next().expect("an id");
            let keyword = words.next().unwrap_or_else(|| panic!("{id}: no keyword"));
            (id, keyword)
        })
        .collect()
}

/// The documents of a suite event stream (`+MAP`, `=VAL :plain`, ...) as JSON, read independently of the parser:
/// `None` when anchors, aliases, tags or a key that is not a scalar make JSON unable to say it.
fn events_to_json(tree: &str) -> Option<Vec<Value>> {
    enum Open {
        Map(serde_json::Map<String, Value>, Option<String>),
        Seq(Vec<Value>),
    }
    let mut docs = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    for event in tree.lines().map(str::trim_start) {
        let (head, rest) = event.split_once(' ').unwrap_or((event, ""));
        if ["+MAP", "+SEQ", "=VAL"].contains(&head) && rest.starts_with(['&', '<']) {
            return None;
        }
        let value = match head {
            "+MAP" => {
                stack.push(Open::Map(serde_json::Map::new(), None));
                continue;
            }
            "+SEQ" => {
                stack.push(Open::Seq(Vec::new()));
                continue;
            }
            "-MAP" | "-SEQ" => match stack.pop()? {
                Open::Map(m, None) => Value::Object(m),
                Open::Seq(items) => Value::Array(items),
                Open::Map(_, Some(_)) => return None,
            },
            "=VAL" => {
                let mut chars = rest.chars();
                let style = chars.next()?;
                let text = unescape_event(chars.as_str());
                if style == ':' {
                    plain_core_schema(&text)?
                } else {
                    Value::String(text)
                }
            }
            "=ALI" => return None,
            _ => continue,
        };
        match stack.last_mut() {
            None => docs.push(value),
            Some(Open::Seq(items)) => items.push(value),
            Some(Open::Map(m, key)) => match key.take() {
                Some(k) => {
                    m.insert(k, value);
                }
                None => {
                    *key = Some(value.as_str().map(str::to_owned).or_else(|| {
                        (!value.is_array() && !value.is_object()).then(|| value.to_string())
                    })?)
                }
            },
        }
    }
    Some(docs)
}

fn unescape_event(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A plain scalar under the YAML 1.2 core schema, written from the specification rather than taken from the
/// parser; `None` for what JSON cannot hold (infinities, NaN).
pub(super) fn plain_core_schema(v: &str) -> Option<Value> {
    let all = |s: &str, f: fn(&u8) -> bool| !s.is_empty() && s.as_bytes().iter().all(f);
    Some(match v {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return None,
        _ if [".inf", ".Inf", ".INF"].contains(&v.trim_start_matches(['-', '+'])) => return None,
        _ if v
            .strip_prefix("0x")
            .is_some_and(|d| all(d, u8::is_ascii_hexdigit)) =>
        {
            Value::from(u64::from_str_radix(&v[2..], 16).ok()?)
        }
        _ if v
            .strip_prefix("0o")
            .is_some_and(|d| all(d, |c| (b'0'..=b'7').contains(c))) =>
        {
            Value::from(u64::from_str_radix(&v[2..], 8).ok()?)
        }
        _ => {
            let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
            if all(digits, u8::is_ascii_digit) {
                if let Ok(i) = v.parse::<i64>() {
                    return Some(Value::from(i));
                }
                return v
                    .trim_start_matches('+')
                    .parse::<u64>()
                    .ok()
                    .map(Value::from);
            }
            // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
            let (mantissa, exponent) = match digits.find(['e', 'E']) {
                Some(i) => (&digits[..i], Some(&digits[i + 1..])),
                None => (digits, None),
            };
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            let float = (all(int, u8::is_ascii_digit) || int.is_empty())
                && (frac.is_empty() || all(frac, u8::is_ascii_digit))
                && !(int.is_empty() && frac.is_empty())
                && exponent.is_none_or(|e| {
                    all(e.strip_prefix(['-', '+']).unwrap_or(e), u8::is_ascii_digit)
                });
            match float.then(|| v.parse::<f64>().ok()).flatten() {
                Some(f) => serde_json::Number::from_f64(f).map(Value::Number)?,
                None => Value::String(v.to_owned()),
            }
        }
    })
}

/// Whether odp's reading equals the suite's JSON: numbers by value (an integer must stay exact), objects by their
/// entries whatever their order.
pub(super) fn same(ours: &JsonValue, theirs: &Value) -> bool {
    match (ours, theirs) {
        (JsonValue::Null, Value::Null) => true,
        (JsonValue::Bool(a), Value::Bool(b)) => a == b,
        (JsonValue::Int(a), Value::Number(b)) => {
            b.as_i64().map(i128::from) == Some(*a)
                || b.as_u64().map(i128::from) == Some(*a)
                || (b.is_f64() && b.as_f64() == Some(*a as f64))
        }
        (JsonValue::Float(a), Value::Number(b)) => {
            !(b.is_i64() || b.is_u64()) && b.as_f64() == Some(*a)
                || (a.fract() == 0.0 && b.as_f64() == Some(*a) && a.abs() < 2f64.powi(53))
        }
        (JsonValue::String(a), Value::String(b)) => a == b,
        (JsonValue::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (JsonValue::Object(a), Value::Object(b)) => {
            let a: BTreeMap<_, _> = a.iter().map(|(k, v)| (k.as_str(), v)).collect();
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(*k).is_some_and(|theirs| same(v, theirs)))
        }
        _ => false,
    }
}

fn to_serde(v: &JsonValue) -> Value {
    match v {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Int(i) => i64::try_from(*i)
            .map(Value::from)
            .or_else(|_| u64::try_from(*i).map(Value::from))
            .unwrap_or_else(|_| Value::String(i.to_string())),
        JsonValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        JsonValue::String(s) => Value::String(s.clone()),
        JsonValue::Array(a) => Value::Array(a.iter().map(to_serde).collect()),
        JsonValue::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), to_serde(v))).collect())
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Read exactly as `in.json` says.
    Equal,
    /// Rejected with an unsupported diagnostic (valid YAML pipelines have no use for).
    Unsupported,
    /// An error case, rejected.
    Rejected,
}

/// What happened to one case, or why that is wrong.
fn outcome(case: &Case, parse: &Parse, listed: Option<&str>) -> Result<Outcome, String> {
    let first = |kind: SyntaxErrorKind| parse.errors.iter().find(|e| e.kind == kind);
    if case.fail {
        return if parse.errors.is_empty() {
            Err("invalid YAML accepted with no diagnostic".into())
        } else {
            Ok(Outcome::Rejected)
        };
    }
    let invalid = first(SyntaxErrorKind::Invalid).or(first(SyntaxErrorKind::UnquotedTemplate));
    if let Some(e) = invalid {
        return Err(format!(
            "valid YAML reported as invalid at {:?}: {}",
            e.range, e.message
        ));
    }
    if let Some(e) = first(SyntaxErrorKind::Unsupported) {
        let Some(keyword) = listed else {
            return Err(format!(
                "rejected as unsupported but not in unsupported.txt: {}",
                e.message
            ));
        };
        let named = parse
            .errors
            .iter()
            .any(|e| e.message.to_lowercase().contains(&keyword.to_lowercase()));
        return if named {
            Ok(Outcome::Unsupported)
        } else {
            Err(format!(
                "unsupported.txt names `{keyword}`, the diagnostic says: {}",
                e.message
            ))
        };
    }
    if listed.is_some() {
        return Err(
            "listed in unsupported.txt, but read with no diagnostic: remove the line".into(),
        );
    }
    let ours = parse.root.as_ref().map(|r| r.to_json());
    match case.json.as_deref() {
        None => Err(format!(
            "read with no diagnostic as {}, but the suite gives no JSON to compare",
            ours.as_ref()
                .map_or("nothing".into(), |v| to_serde(v).to_string())
        )),
        Some([]) if ours.is_none() => Ok(Outcome::Equal),
        Some([expected]) => {
            let ours = ours.unwrap_or(JsonValue::Null);
            if same(&ours, expected) {
                Ok(Outcome::Equal)
            } else {
                Err(format!(
                    "read differently: odp {}, YAML 1.2 {expected}",
                    to_serde(&ours)
                ))
            }
        }
        Some(docs) => Err(format!(
            "{} documents read with no diagnostic as {}",
            docs.len(),
            ours.as_ref()
                .map_or("nothing".into(), |v| to_serde(v).to_string())
        )),
    }
}

#[test]
fn every_case_reads_as_yaml_1_2_or_is_reported() {
    let list = unsupported_list();
    let cases = cases();
    let mut counts = BTreeMap::new();
    let mut wrong = Vec::new();
    for case in &cases {
        let parse = parse(&case.yaml);
        match outcome(case, &parse, list.get(case.id.as_str()).copied()) {
            Ok(o) => *counts.entry(o).or_insert(0) += 1,
            Err(why) => wrong.push(format!(
                "{} ({}): {why}\n    {:?}",
                case.id, case.name, case.yaml
            )),
        }
    }
    for id in list.keys() {
        assert!(
            cases.iter().any(|c| c.id == *id),
            "unsupported.txt names {id}, which is no case of the suite"
        );
    }
    eprintln!("yaml-test-suite: {counts:?}");
    // The documentation states the counts; it must not go stale.
    let count = |o: Outcome| counts.get(&o).copied().unwrap_or(0);
    let sentence = format!(
        "Of the {} cases of the official YAML test suite, {} read exactly as YAML 1.2 reads them, {} are valid YAML \
         rejected as unsupported (each listed with its feature), and all {} invalid ones are rejected.",
        cases.len(),
        count(Outcome::Equal),
        count(Outcome::Unsupported),
        count(Outcome::Rejected),
    );
    for (doc, text) in [
        ("README.md", include_str!("../../../../README.md")),
        (
            "docs/language.md",
            include_str!("../../../../docs/language.md"),
        ),
    ] {
        if wrong.is_empty() {
            assert!(
                text.replace("\n  ", " ").contains(&sentence),
                "{doc} must say: {sentence}"
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}
