//! What a session and its Rust cells exchange, through files in the session's directory (never as source
//! literals: a megabyte literal stalls rustc):
//!
//! - `steps/NAME.json`: each result a cell can read (a step's or a published value), rewritten only when its
//!   revision changed;
//! - the prelude: one line of `let NAME: serde_json::Value = odp::step("NAME")…;` for each result whose variable
//!   is missing or stale, put on the `%%rust` line itself so the cell's lines keep their numbers;
//! - `odp/`: a small crate, `odp`, with `step` (read a result) and `publish` (write `published/N.json`, which the
//!   kernel picks up after the cell).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// A value a Rust cell published, as the kernel reads it back.
#[derive(Clone, Debug, PartialEq)]
pub enum PublishRecord {
    Value {
        name: String,
        value: Value,
    },
    /// `publish` could not turn the value into JSON (e.g. a map with non-string keys).
    Unserializable {
        name: String,
        message: String,
    },
}

impl PublishRecord {
    pub fn name(&self) -> &str {
        match self {
            PublishRecord::Value { name, .. } | PublishRecord::Unserializable { name, .. } => name,
        }
    }
}

/// Rust's keywords: a step with one of these names is a variable under its raw name (`r#type`), except the few
/// that cannot be raw, which only `odp::step("self")` reads.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// The Rust variable a result is bound to, if it can have one.
pub fn variable_name(name: &str) -> Option<String> {
    if NOT_RAW.contains(&name) {
        None
    } else if KEYWORDS.contains(&name) {
        Some(format!("r#{name}"))
    } else {
        Some(name.to_string())
    }
}

/// A path as a Rust string literal.
fn rust_str(s: &str) -> String {
    format!("{s:?}")
}

/// The session's exchange directory and what its Rust side has seen.
#[derive(Debug)]
pub struct Exchange {
    dir: PathBuf,
    /// Revisions of the files under `steps/`.
    written: HashMap<String, u64>,
    /// Revisions the Rust variables hold (after a prelude that ran).
    defined: HashMap<String, u64>,
}

impl Exchange {
    /// Sets up `dir` (which must exist): `steps/`, `published/` and the `odp` crate.
    pub fn create(dir: &Path) -> io::Result<Exchange> {
        std::fs::create_dir_all(dir.join("steps"))?;
        std::fs::create_dir_all(dir.join("published"))?;
        std::fs::create_dir_all(dir.join("odp").join("src"))?;
        std::fs::write(dir.join("odp").join("Cargo.toml"), ODP_CARGO_TOML)?;
        std::fs::write(
            dir.join("odp").join("src").join("lib.rs"),
            odp_crate_source(dir),
        )?;
        Ok(Exchange {
            dir: dir.to_path_buf(),
            written: HashMap::new(),
            defined: HashMap::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `:dep` lines that make `serde`, `serde_json` and `odp` available to the cells (run once per context).
    pub fn setup_commands(&self) -> String {
        let path = self.dir.join("odp");
        // A JSON string is a TOML basic string.
        let path = Value::String(path.to_string_lossy().into_owned()).to_string();
        format!(
            ":dep serde = {{ version = \"1\", features = [\"derive\"] }}\n:dep serde_json = {{ version = \"1\", features = [\"preserve_order\"] }}\n:dep odp = {{ path = {path} }}\n"
        )
    }

    /// Writes the results whose revision changed since they were written, and removes the files of results the
    /// session no longer has (`%reset`). `value_of` gives a result by name.
    pub fn sync<'v>(
        &mut self,
        results: &[(String, u64)],
        value_of: impl Fn(&str) -> Option<&'v Value>,
    ) -> io::Result<()> {
        let steps = self.dir.join("steps");
        for (name, revision) in results {
            if self.written.get(name) == Some(revision) {
                continue;
            }
            let Some(value) = value_of(name) else {
                continue;
            };
            let tmp = steps.join(format!(".{name}.json.tmp"));
            let file = std::fs::File::create(&tmp)?;
            let mut w = io::BufWriter::new(file);
            serde_json::to_writer(&mut w, value)?;
            io::Write::flush(&mut w)?;
            drop(w);
            std::fs::rename(&tmp, steps.join(format!("{name}.json")))?;
            self.written.insert(name.clone(), *revision);
        }
        let gone: Vec<String> = self
            .written
            .keys()
            .filter(|n| !results.iter().any(|(r, _)| r == *n))
            .cloned()
            .collect();
        for name in gone {
            match std::fs::remove_file(steps.join(format!("{name}.json"))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            self.written.remove(&name);
            self.defined.remove(&name);
        }
        Ok(())
    }

    /// The prelude for a cell: one line binding each result whose Rust variable is missing or older than the
    /// result. Empty when every variable is current.
    pub fn prelude(&self, results: &[(String, u64)]) -> String {
        let mut line = String::new();
        for (name, revision) in results {
            if self.defined.get(name) == Some(revision) {
                continue;
            }
            let Some(var) = variable_name(name) else {
                continue;
            };
            line.push_str(&format!(
                "let {var}: serde_json::Value = odp::step({}).unwrap_or(serde_json::Value::Null); ",
                rust_str(name)
            ));
        }
        line.trim_end().to_string()
    }

    /// The prelude ran: the variables hold these revisions.
    pub fn defined(&mut self, results: &[(String, u64)]) {
        for (name, revision) in results {
            self.defined.insert(name.clone(), *revision);
        }
    }

    /// The Rust process ended (a panic, an interrupt): its variables are gone and the next prelude binds every
    /// result again.
    pub fn variables_lost(&mut self) {
        self.defined.clear();
    }

    /// Reads and removes what the cell published, in the order it was published.
    pub fn take_published(&self) -> Result<Vec<PublishRecord>, String> {
        let dir = self.dir.join("published");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut records = Vec::new();
        let mut problem = None;
        for path in files {
            let record = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| parse_record(&bytes));
            let _ = std::fs::remove_file(&path);
            match record {
                Ok(r) => records.push(r),
                Err(e) => {
                    problem.get_or_insert(format!(
                        "a published value could not be read back ({}): {e}",
                        path.display()
                    ));
                }
            }
        }
        match problem {
            Some(p) => Err(p),
            None => Ok(records),
        }
    }

    /// Drops what a cell that failed published.
    pub fn discard_published(&self) {
        let _ = self.take_published();
    }
}

/// The cell's code with the prelude on its first line, which is the blanked `%%rust` line (so every other line
/// keeps its number).
pub fn with_prelude(code: &str, prelude: &str) -> String {
    if prelude.is_empty() {
        return code.to_string();
    }
    match code.split_once('\n') {
        Some((first, rest)) if first.trim().is_empty() => format!("{prelude}\n{rest}"),
        _ => format!("{prelude}\n{code}"),
    }
}

fn parse_record(bytes: &[u8]) -> Result<PublishRecord, String> {
    let Value::Object(mut map) = serde_json::from_slice(bytes).map_err(|e| e.to_string())? else {
        return Err("not a JSON object".into());
    };
    let Some(Value::String(name)) = map.remove("name") else {
        return Err("no `name`".into());
    };
    if let Some(Value::String(message)) = map.remove("error") {
        return Ok(PublishRecord::Unserializable { name, message });
    }
    let value = map.remove("value").ok_or("no `value`")?;
    Ok(PublishRecord::Value { name, value })
}

const ODP_CARGO_TOML: &str = r#"[package]
name = "odp"
version = "0.0.0"
edition = "2021"
description = "The session's side of the odp kernel's Rust cells (generated by the kernel)"

[dependencies]
serde = "1"
serde_json = { version = "1", features = ["preserve_order"] }
"#;

/// The `odp` crate's source, for a session whose exchange directory is `dir`.
pub fn odp_crate_source(dir: &Path) -> String {
    format!(
        r#"//! The odp kernel's side of Rust cells (generated for this session).
//!
//! Each result of the session is a `serde_json::Value` variable named after its step; `step` reads one by name and
//! `publish` hands a value back to the session, where later cells use it as `{{{{name.field}}}}`.

use std::io::Write;
use std::sync::atomic::{{AtomicU64, Ordering}};

const DIR: &str = {dir};

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The result the session holds under `name` (a step's, or a value a Rust cell published), or `None`.
pub fn step(name: &str) -> Option<serde_json::Value> {{
    let path = std::path::Path::new(DIR).join("steps").join(format!("{{name}}.json"));
    let file = std::fs::File::open(path).ok()?;
    serde_json::from_reader(std::io::BufReader::new(file)).ok()
}}

/// Publishes `value` (anything `Serialize`) into the session as `name`, for later cells: `{{{{name}}}}` in a step's
/// params, completion of its fields, `%show name`. The kernel takes it when the cell has run without an error; a
/// name that is not a valid step name or that a step has is the cell's error.
pub fn publish<T: serde::Serialize + ?Sized>(name: &str, value: &T) {{
    let record = match serde_json::to_value(value) {{
        Ok(value) => serde_json::json!({{"name": name, "value": value}}),
        Err(e) => serde_json::json!({{"name": name, "error": e.to_string()}}),
    }};
    let n = SEQUENCE.fetch_add(1, Ordering::SeqCst);
    let dir = std::path::Path::new(DIR).join("published");
    let tmp = dir.join(format!(".{{n:012}}.tmp"));
    let written = std::fs::File::create(&tmp)
        .and_then(|f| {{
            let mut w = std::io::BufWriter::new(f);
            serde_json::to_writer(&mut w, &record)?;
            w.flush()
        }})
        .and_then(|()| std::fs::rename(&tmp, dir.join(format!("{{n:012}}.json"))));
    if let Err(e) = written {{
        eprintln!("odp::publish({{name:?}}): cannot write the value for the kernel: {{e}}");
    }}
}}
"#,
        dir = rust_str(&dir.to_string_lossy())
    )
}
