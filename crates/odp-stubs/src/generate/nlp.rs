//! Text transforms that really look at their input, with word lists instead of models.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::params::{int_param, str_param, texts};
use super::round;
use super::seed::unit_hash;
use super::vocab::{FIRST_NAMES, MONTHS, ORGS, PLACES};
use super::words::{capitalize, content_words, is_stopword, ranked_terms, ranked_words, words};

const POSITIVE: &[&str] = &[
    "great",
    "excellent",
    "love",
    "loved",
    "amazing",
    "impressive",
    "impressed",
    "helpful",
    "good",
    "happy",
    "best",
    "fantastic",
    "brilliant",
    "easy",
    "recommend",
    "thanks",
    "better",
    "wonderful",
    "enjoy",
    "useful",
    "reliable",
    "awesome",
    "nice",
    "fast",
    "perfect",
    "success",
    "improved",
    "beautiful",
    "win",
    "super",
    "gut",
    "toll",
    "beeindruckt",
    "bonne",
    "bon",
    "excellente",
    "excelente",
    "encanta",
    "bueno",
];
const NEGATIVE: &[&str] = &[
    "bad",
    "terrible",
    "awful",
    "hate",
    "disappointed",
    "disappointing",
    "slow",
    "buggy",
    "broken",
    "frustrating",
    "worst",
    "problem",
    "problems",
    "crash",
    "crashes",
    "outage",
    "poor",
    "expensive",
    "annoying",
    "fail",
    "failed",
    "wrong",
    "risk",
    "risks",
    "concerned",
    "angry",
    "worse",
    "useless",
    "scam",
    "issue",
    "issues",
    "crisis",
    "schlecht",
    "enttäuscht",
    "leider",
    "déçu",
    "mauvais",
    "lent",
    "malo",
    "decepcionado",
];
const NEGATORS: &[&str] = &[
    "not", "no", "never", "don't", "isn't", "wasn't", "nicht", "pas",
];

/// Polarity from -1 to 1: the balance of positive and negative words, damped when there are few.
fn polarity(text: &str) -> f64 {
    let (mut pos, mut neg) = (0u32, 0u32);
    let mut negated = 0;
    for w in words(text).map(str::to_lowercase) {
        let flip = negated > 0;
        negated = if NEGATORS.contains(&w.as_str()) {
            2
        } else {
            negated.max(1) - 1
        };
        let (p, n) = (
            POSITIVE.contains(&w.as_str()),
            NEGATIVE.contains(&w.as_str()),
        );
        match (p ^ flip && (p || n), n ^ flip && (p || n)) {
            (true, _) => pos += 1,
            (_, true) => neg += 1,
            _ => {}
        }
    }
    let hits = pos + neg;
    if hits == 0 {
        return 0.0;
    }
    let balance = (f64::from(pos) - f64::from(neg)) / f64::from(hits);
    balance * (1.0 - 0.5f64.powi(hits as i32))
}

pub(super) fn sentiment(p: &Value) -> Value {
    let threshold = p
        .get("neutral_threshold")
        .and_then(Value::as_f64)
        .unwrap_or(0.5);
    let mut counts = [0usize; 3];
    let mut total = 0.0;
    let texts = texts(p);
    let results: Vec<Value> = texts
        .iter()
        .map(|text| {
            let pol = polarity(text);
            total += pol;
            let positive = (1.0 + pol) / 2.0;
            let (label, score) = if pol > 0.0 && positive >= threshold {
                ("positive", positive)
            } else if pol < 0.0 && 1.0 - positive >= threshold {
                ("negative", 1.0 - positive)
            } else {
                ("neutral", 0.6 + 0.35 * (1.0 - pol.abs()))
            };
            counts[match label {
                "positive" => 0,
                "neutral" => 1,
                _ => 2,
            }] += 1;
            json!({"text": text, "label": label, "score": round(score, 3)})
        })
        .collect();
    let average = if texts.is_empty() {
        0.0
    } else {
        total / texts.len() as f64
    };
    json!({
        "results": results,
        "summary": {"positive": counts[0], "neutral": counts[1], "negative": counts[2]},
        "average_score": round(average, 3),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Entities
// ---------------------------------------------------------------------------------------------------------------

struct Token<'a> {
    text: &'a str,
    /// Char offsets.
    start: usize,
    end: usize,
    /// The characters between the previous token and this one.
    gap: &'a str,
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let is_word = |c: char| c.is_alphanumeric() || c == '-';
    let mut out = Vec::new();
    let (mut chars, mut gap_start) = (0, 0);
    // (byte, char) offsets of the word being read.
    let mut word: Option<(usize, usize)> = None;
    let ends = std::iter::once((text.len(), None));
    for (byte, c) in text.char_indices().map(|(b, c)| (b, Some(c))).chain(ends) {
        match (c.is_some_and(is_word), word) {
            (true, None) => word = Some((byte, chars)),
            (false, Some((b0, c0))) => {
                out.push(Token {
                    text: &text[b0..byte],
                    start: c0,
                    end: chars,
                    gap: &text[gap_start..b0],
                });
                gap_start = byte;
                word = None;
            }
            _ => {}
        }
        chars += 1;
    }
    out
}

impl Token<'_> {
    fn capitalised(&self) -> bool {
        self.text.chars().next().is_some_and(char::is_uppercase) && self.text.chars().count() > 1
    }

    fn starts_sentence(&self, first: bool) -> bool {
        first || self.gap.contains(['.', '!', '?', ':', '\n'])
    }
}

const ORG_SUFFIXES: &[&str] = &[
    "Inc",
    "Corp",
    "Ltd",
    "GmbH",
    "University",
    "Foundation",
    "Labs",
    "Commission",
];

/// The type and confidence of a candidate entity.
fn classify(name: &str, first_word: &str) -> (&'static str, f64) {
    let h = unit_hash(&[name.as_bytes()]);
    let last = name.rsplit(' ').next().unwrap_or(name);
    if PLACES.contains(&name) {
        ("location", 0.9 + 0.09 * h)
    } else if ORGS.contains(&name) {
        ("organization", 0.9 + 0.09 * h)
    } else if FIRST_NAMES.contains(&first_word) {
        ("person", 0.9 + 0.09 * h)
    } else if MONTHS.contains(&first_word) {
        ("date", 0.9 + 0.09 * h)
    } else if (name.chars().all(|c| c.is_uppercase() || c.is_ascii_digit()) && name.len() >= 2)
        || ORG_SUFFIXES.contains(&last)
    {
        ("organization", 0.75 + 0.15 * h)
    } else {
        ("other", 0.5 + 0.25 * h)
    }
}

/// Runs of capitalised words (not sentence-initial common words), and `$`/`€` amounts.
fn extract(text: &str) -> Vec<(String, &'static str, usize, usize, f64)> {
    let tokens = tokens(text);
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.gap.ends_with(['$', '€']) && t.text.starts_with(|c: char| c.is_ascii_digit()) {
            let start = t.start - 1;
            found.push((
                format!("{}{}", t.gap.chars().last().unwrap_or('$'), t.text),
                "money",
                start,
                t.end,
                0.95,
            ));
            i += 1;
            continue;
        }
        if !t.capitalised() || t.gap.ends_with(['@', '#']) {
            i += 1;
            continue;
        }
        let day = |t: &Token| {
            MONTHS.contains(&tokens[i].text) && t.text.chars().all(|c| c.is_ascii_digit())
        };
        let mut j = i + 1;
        while j < tokens.len()
            && tokens[j].gap == " "
            && (tokens[j].capitalised() || day(&tokens[j]))
        {
            j += 1;
        }
        let mut run = &tokens[i..j];
        let first_of_text = i == 0;
        i = j;
        let known = |w: &str| {
            FIRST_NAMES.contains(&w)
                || MONTHS.contains(&w)
                || ORGS
                    .iter()
                    .chain(PLACES)
                    .any(|n| n.split(' ').next() == Some(w))
        };
        // A capitalised sentence start is usually just a word ("Really impressed ..."), as is a capitalised
        // stop word ("The").
        let head = &run[0];
        let plain_word = (head.starts_sentence(first_of_text)
            && !head.text.chars().all(char::is_uppercase))
            || is_stopword(&head.text.to_lowercase())
            || head.text == "RT";
        if plain_word && !known(head.text) {
            run = &run[1..];
        }
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        let name: String = text
            .chars()
            .skip(first.start)
            .take(last.end - first.start)
            .collect();
        let (ty, confidence) = classify(&name, first.text);
        found.push((name, ty, first.start, last.end, confidence));
    }
    found
}

pub(super) fn entities(p: &Value) -> Value {
    let types: Option<Vec<&str>> = p
        .get("types")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let min_confidence = p
        .get("min_confidence")
        .and_then(Value::as_f64)
        .unwrap_or(0.5);
    // Lower-cased text → (surface text, type, count, first seen).
    let mut top: HashMap<String, (String, &str, usize, usize)> = HashMap::new();
    let results: Vec<Value> = texts(p)
        .into_iter()
        .map(|text| {
            let entities: Vec<Value> = extract(text)
                .into_iter()
                .filter(|e| types.as_ref().is_none_or(|t| t.contains(&e.1)) && e.4 >= min_confidence)
                .map(|(name, ty, start, end, confidence)| {
                    let order = top.len();
                    top.entry(name.to_lowercase())
                        .or_insert((name.clone(), ty, 0, order))
                        .2 += 1;
                    json!({"text": name, "type": ty, "start": start, "end": end, "confidence": round(confidence, 3)})
                })
                .collect();
            json!({"text": text, "entities": entities})
        })
        .collect();
    let mut top: Vec<_> = top.into_values().collect();
    top.sort_by(|a, b| b.2.cmp(&a.2).then(a.3.cmp(&b.3)));
    let top: Vec<Value> = top
        .into_iter()
        .take(100)
        .map(|(text, ty, count, _)| json!({"text": text, "type": ty, "count": count}))
        .collect();
    json!({"results": results, "top_entities": top})
}

// ---------------------------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------------------------

fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            out.push(std::mem::take(&mut current));
            continue;
        }
        current.push(c);
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()) {
            out.push(std::mem::take(&mut current));
        }
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect()
}

/// The text cut after `n` words, keeping its layout.
fn truncate_words(text: &str, n: usize) -> String {
    let mut count = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            in_word = true;
            count += 1;
            if count > n {
                return format!("{}…", text[..i].trim_end());
            }
        }
    }
    text.to_string()
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => "various things".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub(super) fn summary(p: &Value) -> Result<Value, String> {
    let mut docs: Vec<&str> = str_param(p, "text").into_iter().collect();
    docs.extend(texts(p));
    if docs.is_empty() {
        return Err("give `text` or `texts` to summarize".into());
    }
    let max_words = int_param(p, "max_words").unwrap_or(150).max(1) as usize;
    let top: Vec<String> = ranked_terms(docs.iter().copied())
        .into_iter()
        .take(3)
        .map(|(w, _)| w)
        .collect();
    let mut key_points: Vec<String> = Vec::new();
    let candidates: Vec<String> = if docs.len() == 1 {
        sentences(docs[0])
    } else {
        docs.iter()
            .filter_map(|d| sentences(d).into_iter().next())
            .collect()
    };
    for s in candidates {
        let s = truncate_words(&s, 30);
        if !key_points.contains(&s) {
            key_points.push(s);
        }
        if key_points.len() == 5 {
            break;
        }
    }
    let about = join_and(&top);
    let mut summary = match str_param(p, "style").unwrap_or("paragraph") {
        "bullets" => key_points
            .iter()
            .map(|k| format!("- {k}"))
            .collect::<Vec<_>>()
            .join("\n"),
        "headline" => format!(
            "{}: {}",
            capitalize(&about),
            key_points.first().map_or("no details", |s| s.as_str())
        ),
        _ => {
            let lead = if docs.len() > 1 {
                format!("{} texts, mostly about {about}.", docs.len())
            } else {
                format!("A text about {about}.")
            };
            std::iter::once(lead)
                .chain(key_points.iter().take(3).cloned())
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    if let Some(focus) = str_param(p, "focus").filter(|f| !f.trim().is_empty()) {
        summary = format!("On {}: {summary}", focus.trim());
    }
    if let Some(lang) = str_param(p, "language").filter(|l| *l != "en") {
        summary = format!("[{lang}] {summary}");
    }
    let summary = truncate_words(&summary, max_words);
    let word_count = summary
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count();
    Ok(json!({
        "summary": summary,
        "key_points": key_points,
        "word_count": word_count,
        "source_count": docs.len(),
    }))
}

// ---------------------------------------------------------------------------------------------------------------
// Language, translation
// ---------------------------------------------------------------------------------------------------------------

const COMMON_WORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "is", "to", "of", "in", "it", "for", "on", "with", "this", "that",
            "from", "by", "at", "was", "are", "have", "so", "anyone", "about", "what",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "ich", "von", "mit", "sehr", "wirklich",
            "leider", "bin", "neue", "ein", "eine", "zu", "auf", "für",
        ],
    ),
    (
        "fr",
        &[
            "le", "les", "et", "est", "je", "pour", "une", "très", "par", "sur", "des", "pas",
            "du", "au", "suis", "avec", "dans",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "con", "muy", "me", "que", "por", "una", "para", "del", "está",
            "pero", "como", "soporte",
        ],
    ),
    (
        "it",
        &[
            "il", "che", "non", "sono", "della", "per", "con", "molto", "questo", "gli",
        ],
    ),
    (
        "nl",
        &[
            "het", "een", "niet", "zijn", "ik", "wat", "maar", "ook", "voor", "heel",
        ],
    ),
    (
        "pt",
        &[
            "não", "uma", "com", "para", "muito", "isso", "mas", "você", "são", "os",
        ],
    ),
];

/// `(language, confidence)`; `und` when nothing gives it away.
pub(super) fn detect(text: &str) -> (&'static str, f64) {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count().max(1);
    let scripts = [
        ("ja", '\u{3040}'..='\u{30ff}'),
        ("ko", '\u{ac00}'..='\u{d7af}'),
        ("zh", '\u{4e00}'..='\u{9fff}'),
        ("ru", '\u{0400}'..='\u{04ff}'),
        ("ar", '\u{0600}'..='\u{06ff}'),
        ("he", '\u{0590}'..='\u{05ff}'),
        ("el", '\u{0370}'..='\u{03ff}'),
    ];
    for (lang, script) in scripts {
        let n = text.chars().filter(|c| script.contains(c)).count();
        if n * 10 >= letters * 3 {
            return (lang, round(0.6 + 0.39 * (n as f64 / 10.0).min(1.0), 2));
        }
    }
    let lowered: Vec<String> = words(text).map(str::to_lowercase).collect();
    let mut best = ("und", 0usize);
    let mut total = 0;
    for (lang, common) in COMMON_WORDS {
        let hits = lowered
            .iter()
            .filter(|w| common.contains(&w.as_str()))
            .count();
        total += hits;
        if hits > best.1 {
            best = (lang, hits);
        }
    }
    if best.1 == 0 {
        return ("und", 0.1);
    }
    let share = best.1 as f64 / total as f64;
    let strength = (best.1 as f64 / 3.0).min(1.0);
    (best.0, round(0.4 + 0.59 * share * strength, 2))
}

pub(super) fn language(p: &Value) -> Value {
    let results: Vec<Value> = texts(p)
        .into_iter()
        .map(|text| {
            let (language, confidence) = detect(text);
            json!({"text": text, "language": language, "confidence": confidence})
        })
        .collect();
    json!({ "results": results })
}

pub(super) fn translate(p: &Value) -> Value {
    let target = str_param(p, "target_language").unwrap_or("en");
    let source = str_param(p, "source_language");
    let results: Vec<Value> = texts(p)
        .into_iter()
        .map(|text| {
            let from = source.unwrap_or_else(|| detect(text).0);
            let translation = if from == target {
                text.to_string()
            } else {
                format!("[{target}] {text}")
            };
            json!({"text": text, "translation": translation, "source_language": from})
        })
        .collect();
    json!({ "results": results })
}

// ---------------------------------------------------------------------------------------------------------------
// Keywords, topics
// ---------------------------------------------------------------------------------------------------------------

pub(super) fn keywords(p: &Value) -> Value {
    let max = int_param(p, "max_keywords").unwrap_or(20).max(1) as usize;
    let ranked = if int_param(p, "max_phrase_words").unwrap_or(3) >= 2 {
        ranked_terms(texts(p))
    } else {
        ranked_words(texts(p))
    };
    let top = ranked.first().map_or(1, |(_, n)| *n) as f64;
    let keywords: Vec<Value> = ranked
        .into_iter()
        .take(max)
        .map(|(keyword, count)| json!({"keyword": keyword, "score": round(count as f64 / top, 3), "count": count}))
        .collect();
    json!({ "keywords": keywords })
}

/// Each text joins the topic of its first keyword: its first telling word that other texts share too (else its
/// first telling word). Words in over 80% of the texts, such as the search query, tell nothing. The largest
/// `num_topics` groups become topics; the other texts get -1.
pub(super) fn topics(p: &Value) -> Value {
    let texts = texts(p);
    let num_topics = int_param(p, "num_topics").unwrap_or(8).max(1) as usize;
    let per_topic = int_param(p, "keywords_per_topic").unwrap_or(8).max(1) as usize;
    let doc_words: Vec<Vec<String>> = texts.iter().map(|t| content_words(t).collect()).collect();
    let mut doc_freq: HashMap<&str, usize> = HashMap::new();
    for ws in &doc_words {
        let mut seen: Vec<&str> = ws.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for w in seen {
            *doc_freq.entry(w).or_default() += 1;
        }
    }
    let telling =
        |w: &str| texts.len() < 4 || doc_freq.get(w).copied().unwrap_or(0) * 5 <= texts.len() * 4;
    let keys: Vec<Option<&str>> = doc_words
        .iter()
        .map(|ws| {
            let mut candidates = ws.iter().map(String::as_str).filter(|w| telling(w));
            let shared = candidates
                .clone()
                .find(|w| doc_freq.get(w).is_some_and(|n| *n >= 2));
            shared.or_else(|| candidates.next())
        })
        .collect();
    // Key → member indices, in order of first appearance.
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        let Some(key) = *key else { continue };
        let g = *group_of.entry(key).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    groups.truncate(num_topics);
    let mut topic_of = vec![-1i64; texts.len()];
    let mut topic_keywords: Vec<Vec<String>> = Vec::new();
    let topics: Vec<Value> = groups
        .iter()
        .enumerate()
        .map(|(id, (key, members))| {
            for &m in members {
                topic_of[m] = id as i64;
            }
            let mut kws: Vec<String> = vec![key.to_string()];
            for (w, _) in ranked_words(members.iter().map(|&m| texts[m])) {
                if kws.len() >= per_topic {
                    break;
                }
                if telling(&w) && !kws.contains(&w) {
                    kws.push(w);
                }
            }
            let label = match kws.get(1) {
                Some(second) => format!("{} & {second}", capitalize(key)),
                None => capitalize(key),
            };
            topic_keywords.push(kws.clone());
            json!({"id": id, "label": label, "keywords": kws, "size": members.len()})
        })
        .collect();
    let assignments: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let topic = topic_of[i];
            let probability = if topic < 0 {
                round(0.2 * unit_hash(&[text.as_bytes()]), 3)
            } else {
                let kws = &topic_keywords[topic as usize];
                let overlap = doc_words[i].iter().filter(|w| kws.contains(w)).count();
                round(0.5 + 0.45 * (overlap as f64 / 3.0).min(1.0), 3)
            };
            json!({"index": i, "text": text, "topic_id": topic, "probability": probability})
        })
        .collect();
    json!({"topics": topics, "assignments": assignments})
}
