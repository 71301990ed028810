//! Made-up results: method-specific generators for the bundled methods, and a generator driven by the output
//! schema for any other method. Everything is seeded by a hash of the method id and the params, so the same
//! call always gets the same answer; nothing depends on the clock.

mod nlp;
mod records;
mod sources;

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use odp_analysis::registry::OutputSpec;
use odp_analysis::{Method, Registry};
use serde_json::{Map, Value, json};

use crate::StubConfig;

/// Compiled output schemas by method id, to check the built-in generators against a custom registry.
pub(crate) struct OutputValidators(HashMap<String, jsonschema::Validator>);

impl OutputValidators {
    pub(crate) fn new(registry: &Registry) -> OutputValidators {
        let mut map = HashMap::new();
        for m in registry.methods() {
            if let OutputSpec::Schema(schema) = &m.spec.output
                && let Ok(v) = jsonschema::validator_for(&schema.0)
            {
                map.insert(m.id().to_string(), v);
            }
        }
        OutputValidators(map)
    }

    fn fits(&self, id: &str, value: &Value) -> bool {
        self.0.get(id).is_none_or(|v| v.is_valid(value))
    }
}

/// The result of a call with valid params; `Err` is a message for a `422` (params the schema cannot rule out,
/// such as a non-list `value` for `op: in`).
pub(crate) fn respond(
    method: &Method,
    params: &Value,
    config: &StubConfig,
    outputs: &OutputValidators,
) -> Result<Value, String> {
    if let Some(result) = specific(method.id(), params, config)? {
        if outputs.fits(method.id(), &result) {
            return Ok(result);
        }
        tracing::warn!(
            method = method.id(),
            "the built-in answer does not fit this registry's output schema; generating from the schema"
        );
    }
    Ok(match &method.spec.output {
        OutputSpec::Dynamic(_) => json!({ "result": params }),
        OutputSpec::Schema(schema) => {
            let mut rng = Rng::new(seed(method.id(), params));
            from_schema(&schema.0, "", &mut rng, 0)
        }
    })
}

/// The method-specific answer, for the methods of the bundled registry.
fn specific(id: &str, p: &Value, config: &StubConfig) -> Result<Option<Value>, String> {
    let max = config.max_results;
    Ok(Some(match id {
        "social.twitter.search" => sources::twitter(p, max),
        "social.reddit.search" => sources::reddit(p, max),
        "social.mastodon.search" => sources::mastodon(p, max),
        "news.newsapi.search" => sources::newsapi(p, max),
        "web.page.fetch" => sources::page(p),
        "web.rss.read" => sources::rss(p, max),
        "finance.market.quotes" => sources::quotes(p),
        "nlp.sentiment.analyze" => nlp::sentiment(p),
        "nlp.entities.extract" => nlp::entities(p),
        "nlp.summary.generate" => nlp::summary(p)?,
        "nlp.language.detect" => nlp::language(p),
        "nlp.translation.translate" => nlp::translate(p),
        "nlp.keywords.extract" => nlp::keywords(p),
        "ml.topics.cluster" => nlp::topics(p),
        "data.records.merge" => records::merge(p),
        "data.records.dedupe" => records::dedupe(p),
        "data.records.filter" => records::filter(p)?,
        "data.records.sort" => records::sort(p),
        // "data.custom.transform" is evaluated by `crate::jq`, before this is reached.
        _ => return Ok(None),
    }))
}

// ---------------------------------------------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------------------------------------------

/// FNV-1a over several byte strings (each followed by a separator byte).
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A hash mapped to [0, 1).
pub(crate) fn unit_hash(parts: &[&[u8]]) -> f64 {
    (mix(fnv1a(parts)) >> 11) as f64 / (1u64 << 53) as f64
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of a call: the method id and the params with object keys sorted.
pub(crate) fn seed(id: &str, params: &Value) -> u64 {
    let mut canonical = String::new();
    write_canonical(params, &mut canonical);
    fnv1a(&[id.as_bytes(), canonical.as_bytes()])
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A small deterministic generator (SplitMix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator for the `i`-th item of a list, independent of how many items there are.
    pub(crate) fn fork(seed: u64, i: usize) -> Rng {
        Rng(mix(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// In `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// In `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % ((hi - lo) as u64 + 1)) as i64
    }

    /// In [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `pick` for lists of strings.
    pub(crate) fn word<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------------------------

/// "Now" for every answer: 2025-06-02T12:00:00Z.
pub(crate) const NOW: i64 = days_from_civil(2025, 6, 2) * 86_400 + 12 * 3600;

const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix seconds as RFC 3339 in UTC.
pub(crate) fn rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

pub(crate) fn date(secs: i64) -> String {
    rfc3339(secs)[..10].to_string()
}

/// Parses `YYYY-MM-DD` or an RFC 3339 date-time (fractions ignored, offsets applied) to Unix seconds.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let num = |s: &str| s.parse::<i64>().ok();
    let y = num(text.get(0..4)?)?;
    let m = num(text.get(5..7)?)?;
    let d = num(text.get(8..10)?)?;
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if text.len() >= 19 {
        secs +=
            num(text.get(11..13)?)? * 3600 + num(text.get(14..16)?)? * 60 + num(text.get(17..19)?)?;
        let rest = text[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
        if let Some(sign) = rest.chars().next().filter(|c| *c == '+' || *c == '-') {
            let offset = num(rest.get(1..3)?)? * 3600 + num(rest.get(4..6)?)? * 60;
            secs -= if sign == '+' { offset } else { -offset };
        }
    }
    Some(secs)
}

// ---------------------------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------------------------

/// Names shared by the text generators and the entity extractor, so that extracted entities get their types.
pub(crate) mod vocab {
    pub const FIRST_NAMES: &[&str] = &[
        "Maria", "James", "Priya", "Lukas", "Sofia", "Kenji", "Amara", "Noah", "Elena", "Omar",
        "Chloe", "Mateo",
    ];
    pub const LAST_NAMES: &[&str] = &[
        "Garcia", "Chen", "Patel", "Weber", "Rossi", "Tanaka", "Okafor", "Williams", "Novak",
        "Haddad", "Martin", "Silva",
    ];
    pub const ORGS: &[&str] = &[
        "Mozilla",
        "OpenAI",
        "NASA",
        "Reuters",
        "Siemens",
        "Toyota",
        "Microsoft",
        "Google",
        "Apple",
        "European Commission",
        "Amazon",
        "Samsung",
    ];
    pub const PLACES: &[&str] = &[
        "Berlin",
        "Tokyo",
        "London",
        "Nairobi",
        "Toronto",
        "Paris",
        "Singapore",
        "Madrid",
        "New York",
        "Sydney",
        "Mumbai",
        "Lisbon",
    ];
    pub const MONTHS: &[&str] = &[
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
}

const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anyone",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "both",
    "but",
    "by",
    "can",
    "can't",
    "could",
    "day",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "don't",
    "each",
    "even",
    "every",
    "everyone",
    "few",
    "for",
    "from",
    "get",
    "gets",
    "getting",
    "got",
    "had",
    "has",
    "have",
    "he",
    "her",
    "here",
    "his",
    "honestly",
    "how",
    "huge",
    "i",
    "i'm",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "just",
    "keep",
    "keeps",
    "last",
    "let",
    "like",
    "made",
    "make",
    "makes",
    "many",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "new",
    "no",
    "not",
    "now",
    "of",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "really",
    "same",
    "seems",
    "she",
    "should",
    "so",
    "some",
    "someone",
    "something",
    "still",
    "such",
    "than",
    "thanks",
    "that",
    "that's",
    "the",
    "their",
    "them",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "thing",
    "things",
    "this",
    "those",
    "through",
    "to",
    "today",
    "too",
    "up",
    "us",
    "very",
    "was",
    "wasn't",
    "way",
    "we",
    "well",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "won't",
    "would",
    "yet",
    "you",
    "your",
    "der",
    "die",
    "das",
    "und",
    "ist",
    "nicht",
    "ein",
    "eine",
    "mit",
    "von",
    "ich",
    "bin",
    "zu",
    "auf",
    "für",
    "le",
    "la",
    "les",
    "et",
    "est",
    "une",
    "des",
    "je",
    "suis",
    "pour",
    "par",
    "sur",
    "pas",
    "du",
    "au",
    "avec",
    "dans",
    "el",
    "los",
    "las",
    "es",
    "y",
    "en",
    "un",
    "una",
    "que",
    "de",
    "con",
    "muy",
    "me",
    "por",
    "para",
    "del",
    "pero",
    "como",
    "está",
];

pub(crate) fn is_stopword(word: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOPWORDS.iter().copied().collect())
        .contains(word)
}

/// The words of a text, as slices (letters, digits and inner apostrophes).
pub(crate) fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
}

/// The words of a text, lower-cased, without hashtags, mentions and links.
fn plain_words(text: &str) -> impl Iterator<Item = String> {
    text.split_whitespace()
        .filter(|t| !t.starts_with(['#', '@']) && !t.contains("://"))
        .flat_map(words)
        .map(str::to_lowercase)
}

fn is_content(word: &str) -> bool {
    word.chars().count() >= 3 && !is_stopword(word) && !word.chars().all(char::is_numeric)
}

/// The content words of a text, lower-cased: no stop words, numbers, hashtags or links; at least three
/// characters.
pub(crate) fn content_words(text: &str) -> impl Iterator<Item = String> {
    plain_words(text).filter(|w| is_content(w))
}

/// Content words over all texts with their counts, most frequent first (ties: first seen first).
pub(crate) fn ranked_words<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    for text in texts {
        for w in content_words(text) {
            let order = counts.len();
            counts.entry(w).or_insert((0, order)).0 += 1;
        }
    }
    let mut ranked: Vec<(String, (usize, usize))> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
    ranked.into_iter().map(|(w, (n, _))| (w, n)).collect()
}

/// `ranked_words`, with two words that only ever occur together (at least twice) merged into one phrase, such
/// as "electric cars".
pub(crate) fn ranked_terms<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<(String, usize)> {
    let texts: Vec<&str> = texts.into_iter().collect();
    let ranked = ranked_words(texts.iter().copied());
    // Adjacent word pairs (not across punctuation) → (count, first seen).
    let mut pairs: HashMap<(String, String), (usize, usize)> = HashMap::new();
    let clauses = texts
        .iter()
        .flat_map(|t| t.split(['.', ',', ';', '!', '?', '(', ')', '"', '…']));
    for clause in clauses {
        let ws: Vec<String> = plain_words(clause).collect();
        for pair in ws.windows(2) {
            if is_content(&pair[0]) && is_content(&pair[1]) && pair[0] != pair[1] {
                let order = pairs.len();
                pairs
                    .entry((pair[0].clone(), pair[1].clone()))
                    .or_insert((0, order))
                    .0 += 1;
            }
        }
    }
    let counts: HashMap<&str, usize> = ranked.iter().map(|(w, n)| (w.as_str(), *n)).collect();
    let mut candidates: Vec<_> = pairs
        .into_iter()
        .filter(|((a, b), (n, _))| *n >= 2 && counts[a.as_str()] == *n && counts[b.as_str()] == *n)
        .collect();
    candidates.sort_by_key(|(_, (_, order))| *order);
    // First word → phrase; second words disappear.
    let mut phrases: HashMap<&str, String> = HashMap::new();
    let mut merged: HashSet<&str> = HashSet::new();
    for ((a, b), _) in &candidates {
        if !merged.contains(a.as_str()) && !merged.contains(b.as_str()) {
            phrases.insert(a, format!("{a} {b}"));
            merged.extend([a.as_str(), b.as_str()]);
        }
    }
    ranked
        .iter()
        .filter_map(|(w, n)| match phrases.get(w.as_str()) {
            Some(phrase) => Some((phrase.clone(), *n)),
            None if merged.contains(w.as_str()) => None,
            None => Some((w.clone(), *n)),
        })
        .collect()
}

pub(crate) fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A slug for URLs: lower-case ASCII words joined by `-`.
pub(crate) fn slug(text: &str) -> String {
    let s: Vec<String> = words(text)
        .map(|w| {
            w.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .take(8)
        .collect();
    if s.is_empty() {
        "post".into()
    } else {
        s.join("-")
    }
}

pub(crate) fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// The params' texts: `texts` as strings (other items are skipped).
pub(crate) fn texts(p: &Value) -> Vec<&str> {
    p.get("texts")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

pub(crate) fn str_param<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
}

pub(crate) fn int_param(p: &Value, key: &str) -> Option<i64> {
    p.get(key).and_then(Value::as_i64)
}

// ---------------------------------------------------------------------------------------------------------------
// From the output schema
// ---------------------------------------------------------------------------------------------------------------

const MAX_DEPTH: usize = 6;

/// A value for `schema`: an `enum` member, an example, the default, or a made-up value of the schema's type
/// (strings shaped by `format` and by the property's name). `name` is the property the value is for.
pub(crate) fn from_schema(schema: &Value, name: &str, rng: &mut Rng, depth: usize) -> Value {
    for key in ["enum", "examples"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array)
            && !options.is_empty()
        {
            return rng.pick(options).clone();
        }
    }
    if let Some(default) = schema.get("default") {
        return default.clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ if schema.get("items").is_some() => "array",
        _ => "string",
    };
    let num = |key: &str| schema.get(key).and_then(Value::as_f64);
    match ty {
        "object" => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut map = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, sub) in props {
                    if depth < MAX_DEPTH || required.contains(&key.as_str()) {
                        map.insert(key.clone(), from_schema(sub, key, rng, depth + 1));
                    }
                }
            }
            // Searches and record lists: keep `count` equal to the length of `results`.
            if let (Some(Value::Array(results)), Some(Value::Number(_))) =
                (map.get("results"), map.get("count"))
            {
                let n = results.len();
                map.insert("count".into(), n.into());
            }
            Value::Object(map)
        }
        "array" => {
            let min = num("minItems").unwrap_or(0.0) as usize;
            let max = num("maxItems").map_or(usize::MAX, |m| m as usize);
            let n = if depth >= MAX_DEPTH {
                min
            } else {
                (rng.range(1, 3) as usize).clamp(min, max.max(min))
            };
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            Value::Array(
                (0..n)
                    .map(|_| from_schema(&items, name, rng, depth + 1))
                    .collect(),
            )
        }
        "integer" => {
            let lo = num("minimum").map_or(0, |m| m.ceil() as i64);
            let hi = num("maximum").map_or(lo.max(0) + 100, |m| m.floor() as i64);
            rng.range(lo, hi).into()
        }
        "number" => {
            let lo = num("minimum").unwrap_or(0.0);
            let hi = num("maximum").unwrap_or(lo.max(0.0) + 100.0);
            json!(round(lo + (hi - lo) * rng.unit(), 2).clamp(lo, hi))
        }
        "boolean" => rng.chance(0.5).into(),
        "null" => Value::Null,
        _ => Value::String(string_for(schema, name, rng)),
    }
}

fn string_for(schema: &Value, name: &str, rng: &mut Rng) -> String {
    let name = name.to_lowercase();
    let n = rng.range(1, 9999);
    let time = NOW - rng.range(0, 30 * 86_400);
    let mut s = match schema.get("format").and_then(Value::as_str) {
        Some("date-time") => rfc3339(time),
        Some("date") => date(time),
        Some("uri" | "url" | "iri") => format!("https://example.com/{}/{n}", slug(&name)),
        Some("email") => format!("user{n}@example.com"),
        Some("uuid") => {
            let (a, b) = (rng.next_u64(), rng.next_u64());
            format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                b >> 52,
                b & 0xffff_ffff_ffff
            )
        }
        _ if name == "id" || name.ends_with("_id") => format!("{:012x}", rng.next_u64() >> 16),
        _ if name.contains("url") || name.contains("link") => {
            format!("https://example.com/{}/{n}", slug(&name))
        }
        _ if name.ends_with("_at") || name.contains("time") => rfc3339(time),
        _ if name.contains("date") => date(time),
        _ if name.contains("lang") => "en".into(),
        _ if name.contains("author") || name.contains("user") => {
            format!("{}_{}", rng.word(vocab::FIRST_NAMES), rng.range(1, 99)).to_lowercase()
        }
        _ if ["text", "summary", "description", "content", "body"]
            .iter()
            .any(|k| name.contains(k)) =>
        {
            format!(
                "{} from {} in {} shared an update about {}.",
                rng.word(vocab::FIRST_NAMES),
                rng.word(vocab::ORGS),
                rng.word(vocab::PLACES),
                if name.is_empty() {
                    "the project"
                } else {
                    &name
                }
            )
        }
        _ => format!(
            "{} {}",
            rng.word(&["sample", "example", "demo", "test"]),
            name.replace('_', " ")
        )
        .trim()
        .to_string(),
    };
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        s = s.chars().take(max as usize).collect();
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        while (s.chars().count() as u64) < min {
            s.push('x');
        }
    }
    if let Some(pattern) = schema.get("pattern") {
        let check = json!({"type": "string", "pattern": pattern});
        if let Ok(v) = jsonschema::validator_for(&check)
            && !v.is_valid(&json!(s))
        {
            let candidates = [
                "en",
                "abc",
                "x",
                "X",
                "ABC",
                "a_1",
                "https://example.com/",
                "1",
                "2025-06-02",
            ];
            if let Some(c) = candidates.iter().find(|c| v.is_valid(&json!(c))) {
                s = (*c).to_string();
            }
        }
    }
    s
}

#[cfg(test)]
mod tests;
