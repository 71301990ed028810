//! Words of texts: stop words, content words and the terms ranked by frequency, capitalisation and URL slugs.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

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
