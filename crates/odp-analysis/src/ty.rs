//! The types templates resolve to, derived from JSON Schemas (method outputs and params) and input declarations,
//! and the rules for which type may fill which.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// The type of a JSON value as far as the checker knows it.
#[derive(Clone, Debug, PartialEq, Hash)]
pub enum Ty {
    /// Unknown (a dynamic output, an untyped schema): fits everything, every field exists.
    Any,
    Null,
    Bool,
    Int,
    Number,
    String,
    /// Shared, like object fields: references clone their types.
    List(Arc<Ty>),
    /// An object with known fields; `open` objects may have more.
    Object {
        /// Shared: output types are cloned into every step and reference that uses them.
        fields: Arc<BTreeMap<String, Ty>>,
        open: bool,
    },
    /// One of several types (`type: [string, "null"]`).
    Union(Vec<Ty>),
}

impl Ty {
    pub fn list(item: Ty) -> Ty {
        Ty::List(Arc::new(item))
    }

    /// The type described by a JSON Schema (the documented subset: `type`, `properties`, `items`,
    /// `additionalProperties`, `enum`).
    pub fn from_schema(schema: &Value) -> Ty {
        let Some(obj) = schema.as_object() else {
            return Ty::Any;
        };
        match obj.get("type") {
            Some(Value::String(t)) => Self::from_type_name(t, obj),
            Some(Value::Array(ts)) => {
                let tys: Vec<Ty> = ts
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|t| Self::from_type_name(t, obj))
                    .collect();
                match tys.len() {
                    0 => Ty::Any,
                    1 => tys.into_iter().next().expect("one"),
                    _ => Ty::Union(tys),
                }
            }
            _ => {
                if let Some(Value::Array(values)) = obj.get("enum") {
                    let mut tys: Vec<Ty> = Vec::new();
                    for v in values {
                        let t = Ty::of_value(v);
                        if !tys.contains(&t) {
                            tys.push(t);
                        }
                    }
                    return match tys.len() {
                        1 => tys.pop().expect("one"),
                        _ => Ty::Any,
                    };
                }
                if obj.contains_key("properties") {
                    return Self::from_type_name("object", obj);
                }
                if obj.contains_key("items") {
                    return Self::from_type_name("array", obj);
                }
                Ty::Any
            }
        }
    }

    fn from_type_name(name: &str, obj: &serde_json::Map<String, Value>) -> Ty {
        match name {
            "null" => Ty::Null,
            "boolean" => Ty::Bool,
            "integer" => Ty::Int,
            "number" => Ty::Number,
            "string" => Ty::String,
            "array" => Ty::list(obj.get("items").map(Ty::from_schema).unwrap_or(Ty::Any)),
            "object" => {
                let fields: BTreeMap<String, Ty> = obj
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|props| {
                        props
                            .iter()
                            .map(|(k, v)| (k.clone(), Ty::from_schema(v)))
                            .collect()
                    })
                    .unwrap_or_default();
                // An object that lists its properties is closed for field lookups, even without
                // `additionalProperties: false`: a typo in a template is far likelier than a field the registry
                // forgot. One that lists none is open.
                let open = fields.is_empty();
                Ty::Object {
                    fields: Arc::new(fields),
                    open,
                }
            }
            _ => Ty::Any,
        }
    }

    /// The type of a concrete JSON value (the kernel's live results). Lists take the type of their first item,
    /// widened by the others where they differ.
    pub fn of_value(v: &Value) -> Ty {
        match v {
            Value::Null => Ty::Null,
            Value::Bool(_) => Ty::Bool,
            Value::Number(n) if n.is_i64() || n.is_u64() => Ty::Int,
            Value::Number(_) => Ty::Number,
            Value::String(_) => Ty::String,
            Value::Array(items) => {
                let mut item = None::<Ty>;
                for v in items.iter().take(100) {
                    let t = Ty::of_value(v);
                    item = Some(match item {
                        None => t,
                        Some(prev) => prev.join(t),
                    });
                }
                Ty::list(item.unwrap_or(Ty::Any))
            }
            Value::Object(map) => Ty::Object {
                fields: Arc::new(
                    map.iter()
                        .map(|(k, v)| (k.clone(), Ty::of_value(v)))
                        .collect(),
                ),
                open: false,
            },
        }
    }

    /// The smallest type holding both.
    pub fn join(self, other: Ty) -> Ty {
        if self == other {
            return self;
        }
        match (self, other) {
            (Ty::Any, _) | (_, Ty::Any) => Ty::Any,
            (Ty::Int, Ty::Number) | (Ty::Number, Ty::Int) => Ty::Number,
            (Ty::List(a), Ty::List(b)) => {
                Ty::list(Arc::unwrap_or_clone(a).join(Arc::unwrap_or_clone(b)))
            }
            (
                Ty::Object {
                    fields: mut a,
                    open: oa,
                },
                Ty::Object {
                    fields: b,
                    open: ob,
                },
            ) => {
                let fields = Arc::make_mut(&mut a);
                for (k, t) in b.iter() {
                    let joined = match fields.remove(k) {
                        Some(prev) => prev.join(t.clone()),
                        None => t.clone(),
                    };
                    fields.insert(k.clone(), joined);
                }
                Ty::Object {
                    fields: a,
                    open: oa || ob,
                }
            }
            (Ty::Union(mut a), b) => {
                if !a.contains(&b) {
                    a.push(b);
                }
                Ty::Union(a)
            }
            (a, b) => Ty::Union(vec![a, b]),
        }
    }

    /// Whether a value of type `self` may fill a place of type `expected`.
    ///
    /// The rules (docs/language.md, "Types"): unknown types fit; an integer fills a number; a list fills a list when
    /// its items fit; an object fills an object when every field both know fits; a union fits when each of its
    /// members fits.
    pub fn fits(&self, expected: &Ty) -> bool {
        match (self, expected) {
            (Ty::Any, _) | (_, Ty::Any) => true,
            (Ty::Union(members), _) => members.iter().all(|m| m.fits(expected)),
            (_, Ty::Union(members)) => members.iter().any(|m| self.fits(m)),
            (Ty::Int, Ty::Number) => true,
            (Ty::List(a), Ty::List(b)) => a.fits(b),
            (Ty::Object { fields: a, .. }, Ty::Object { fields: b, .. }) => a
                .iter()
                .all(|(k, t)| b.get(k).is_none_or(|expected| t.fits(expected))),
            (a, b) => a == b,
        }
    }

    /// A JSON value of this type, standing in for a template when validating params against their schema.
    pub fn placeholder(&self) -> Value {
        match self {
            Ty::Any | Ty::Null => Value::Null,
            Ty::Bool => Value::Bool(false),
            Ty::Int => Value::from(0),
            Ty::Number => Value::from(0.5),
            Ty::String => Value::String(String::new()),
            Ty::List(item) => Value::Array(vec![item.placeholder()]),
            Ty::Object { fields, .. } => Value::Object(
                fields
                    .iter()
                    .map(|(k, t)| (k.clone(), t.placeholder()))
                    .collect(),
            ),
            Ty::Union(members) => members.first().map(Ty::placeholder).unwrap_or(Value::Null),
        }
    }

    /// Fields of an object type, looking through unions.
    pub fn field(&self, name: &str) -> FieldLookup<'_> {
        match self {
            Ty::Any => FieldLookup::Found(Ty::Any),
            Ty::Object { fields, open } => match fields.get(name) {
                Some(t) => FieldLookup::Found(t.clone()),
                None if *open => FieldLookup::Found(Ty::Any),
                None => FieldLookup::Missing(fields.keys().map(String::as_str).collect()),
            },
            Ty::Union(members) => {
                let mut found = None::<Ty>;
                for m in members {
                    if let FieldLookup::Found(t) = m.field(name) {
                        found = Some(match found {
                            None => t,
                            Some(prev) => prev.join(t),
                        });
                    }
                }
                match found {
                    Some(t) => FieldLookup::Found(t),
                    None => FieldLookup::NotAnObject,
                }
            }
            _ => FieldLookup::NotAnObject,
        }
    }

    /// The item type of a list type.
    pub fn item(&self) -> Option<Ty> {
        match self {
            Ty::Any => Some(Ty::Any),
            Ty::List(item) => Some((**item).clone()),
            Ty::Union(members) => members.iter().find_map(Ty::item),
            _ => None,
        }
    }

    pub fn is_list(&self) -> bool {
        matches!(self, Ty::List(_))
    }
}

pub enum FieldLookup<'a> {
    Found(Ty),
    /// An object without this field: the fields it has.
    Missing(Vec<&'a str>),
    NotAnObject,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Any => f.write_str("any"),
            Ty::Null => f.write_str("null"),
            Ty::Bool => f.write_str("boolean"),
            Ty::Int => f.write_str("integer"),
            Ty::Number => f.write_str("number"),
            Ty::String => f.write_str("string"),
            Ty::List(item) => write!(f, "list<{item}>"),
            Ty::Object { fields, .. } if fields.is_empty() => f.write_str("object"),
            Ty::Object { fields, .. } => {
                f.write_str("object{")?;
                for (i, k) in fields.keys().enumerate() {
                    if i == 4 {
                        f.write_str(", …")?;
                        break;
                    }
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(k)?;
                }
                f.write_str("}")
            }
            Ty::Union(members) => {
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{m}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_do_not_fill_strings_but_their_projection_does() {
        let record =
            Ty::from_schema(&json!({"type": "object", "properties": {"text": {"type": "string"}}}));
        let records = Ty::list(record.clone());
        let strings = Ty::list(Ty::String);
        assert!(!records.fits(&strings));
        let projected = Ty::list(match record.field("text") {
            FieldLookup::Found(t) => t,
            _ => panic!("text exists"),
        });
        assert!(projected.fits(&strings));
        assert!(Ty::Int.fits(&Ty::Number));
        assert!(!Ty::Number.fits(&Ty::Int));
        assert!(Ty::Any.fits(&strings) && strings.fits(&Ty::Any));
        assert_eq!(records.to_string(), "list<object{text}>");
    }

    #[test]
    fn unions_fit_member_by_member() {
        let opt_string = Ty::from_schema(&json!({"type": ["string", "null"]}));
        assert!(Ty::String.fits(&opt_string));
        assert!(Ty::Null.fits(&opt_string));
        assert!(!opt_string.fits(&Ty::String));
        assert!(!Ty::Int.fits(&opt_string));
    }

    #[test]
    fn live_values_have_types() {
        let t = Ty::of_value(&json!([{"a": 1}, {"a": 2.5, "b": "x"}]));
        assert_eq!(t.to_string(), "list<object{a, b}>");
        match t.item().unwrap().field("a") {
            FieldLookup::Found(t) => assert_eq!(t, Ty::Number),
            _ => panic!(),
        }
    }
}
