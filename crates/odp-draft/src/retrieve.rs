//! Retrieval: which registry methods to show the model for a request.
//!
//! Offline and deterministic: Okapi BM25 over each method's id, summary, description and param names (the id and
//! summary weigh more), with a light English stemmer and a small thesaurus that maps everyday words to the
//! vocabulary registries use ("tweets" → twitter, "mood" → sentiment). Methods the request names by id are always
//! kept, and the offer always holds at least one source and one transform.

use std::collections::{HashMap, HashSet};

use odp_analysis::{Method, MethodKind, Registry};
use serde_json::Value;

/// BM25 parameters (the usual ones).
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// How much each field counts: a word in the id or summary says more about a method than one in its description.
const ID_WEIGHT: usize = 3;
const SUMMARY_WEIGHT: usize = 2;
const DESCRIPTION_WEIGHT: usize = 1;
const PARAM_WEIGHT: usize = 1;

/// A method and its score for a request.
#[derive(Clone, Debug)]
pub struct Scored<'r> {
    pub method: &'r Method,
    pub score: f64,
    /// Named by id in the request.
    pub named: bool,
}

/// The best `k` methods for `request`, best first, plus every method the request names by id; at least one
/// source and one transform when the registry has them.
pub fn retrieve<'r>(registry: &'r Registry, request: &str, k: usize) -> Vec<&'r Method> {
    rank(registry, request, k)
        .into_iter()
        .map(|s| s.method)
        .collect()
}

/// Like [`retrieve`], with scores.
pub fn rank<'r>(registry: &'r Registry, request: &str, k: usize) -> Vec<Scored<'r>> {
    let index = Index::new(registry);
    let scores = index.score(request);
    let methods = registry.methods();
    let named: HashSet<usize> = methods
        .iter()
        .enumerate()
        .filter(|(_, m)| mentions(request, m.id()))
        .map(|(i, _)| i)
        .collect();
    let mut order: Vec<usize> = (0..methods.len()).collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .partial_cmp(&scores[a])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    let mut chosen: Vec<usize> = Vec::new();
    for &i in &order {
        if named.contains(&i) {
            chosen.push(i);
        }
    }
    for &i in &order {
        if chosen.len() >= k.max(named.len()) {
            break;
        }
        if !chosen.contains(&i) && scores[i] > 0.0 {
            chosen.push(i);
        }
    }
    // A pipeline needs a source; a request almost always wants a transform too.
    for kind in [MethodKind::Source, MethodKind::Transform] {
        if !chosen.iter().any(|&i| methods[i].spec.kind == kind)
            && let Some(&best) = order.iter().find(|&&i| methods[i].spec.kind == kind)
        {
            chosen.push(best);
        }
    }
    chosen.sort_by(|&a, &b| {
        scores[b]
            .partial_cmp(&scores[a])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    chosen
        .into_iter()
        .map(|i| Scored {
            method: &methods[i],
            score: scores[i],
            named: named.contains(&i),
        })
        .collect()
}

/// Whether the request names the method id as a word (`social.twitter.search`, not `social.twitter.searches`).
fn mentions(request: &str, id: &str) -> bool {
    request.match_indices(id).any(|(at, _)| {
        let before = request[..at].chars().next_back();
        let after = request[at + id.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

/// The inverted index of one registry.
struct Index {
    /// Per method: term → weighted frequency.
    docs: Vec<HashMap<String, usize>>,
    lengths: Vec<usize>,
    average: f64,
    /// Term → number of methods containing it.
    df: HashMap<String, usize>,
}

impl Index {
    fn new(registry: &Registry) -> Index {
        let mut docs = Vec::new();
        for m in registry.methods() {
            let mut tf: HashMap<String, usize> = HashMap::new();
            let mut add = |text: &str, weight: usize| {
                for t in terms(text) {
                    *tf.entry(t).or_default() += weight;
                }
            };
            add(&m.spec.id, ID_WEIGHT);
            add(&m.spec.summary, SUMMARY_WEIGHT);
            add(&m.spec.description, DESCRIPTION_WEIGHT);
            for (name, schema) in m.params() {
                add(name, PARAM_WEIGHT);
                if let Some(d) = schema.get("description").and_then(Value::as_str) {
                    add(d, PARAM_WEIGHT);
                }
            }
            docs.push(tf);
        }
        let lengths: Vec<usize> = docs.iter().map(|d| d.values().sum()).collect();
        let average = if lengths.is_empty() {
            1.0
        } else {
            lengths.iter().sum::<usize>() as f64 / lengths.len() as f64
        };
        let mut df: HashMap<String, usize> = HashMap::new();
        for d in &docs {
            for t in d.keys() {
                *df.entry(t.clone()).or_default() += 1;
            }
        }
        Index {
            docs,
            lengths,
            average: average.max(1.0),
            df,
        }
    }

    fn score(&self, request: &str) -> Vec<f64> {
        let n = self.docs.len() as f64;
        let mut query: Vec<String> = Vec::new();
        for t in terms(request) {
            for e in expand(&t) {
                if !query.contains(&e) {
                    query.push(e);
                }
            }
            if !query.contains(&t) {
                query.push(t);
            }
        }
        self.docs
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                let len = self.lengths[i] as f64;
                query
                    .iter()
                    .map(|t| {
                        let Some(&f) = doc.get(t) else { return 0.0 };
                        let df = self.df.get(t).copied().unwrap_or(0) as f64;
                        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                        let f = f as f64;
                        idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len / self.average))
                    })
                    .sum()
            })
            .collect()
    }
}

/// Words too common in requests and descriptions to tell methods apart.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "by", "can",
    "do", "each", "every", "for", "from", "get", "give", "i", "in", "into", "is", "it", "its",
    "me", "my", "of", "on", "one", "or", "our", "please", "so", "some", "than", "that", "the",
    "their", "them", "then", "there", "these", "this", "to", "up", "us", "use", "want", "we",
    "what", "when", "which", "while", "who", "will", "with", "without", "you", "your", "pipeline",
    "make", "build", "create", "write", "run", "step", "steps",
];

/// Lower-case, stemmed words of a text; ids split at dots and underscores.
pub(crate) fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .filter(|w| !w.is_empty())
        .collect()
}

/// A light suffix stripper: enough to make "posts"/"post", "summaries"/"summary", "translated"/"translate",
/// "scoring"/"score" meet.
pub(crate) fn stem(word: &str) -> String {
    let w = word;
    if w.len() <= 3 || w.chars().any(|c| c.is_ascii_digit()) {
        return w.to_string();
    }
    let strip = |suffix: &str, min_stem: usize| -> Option<String> {
        w.strip_suffix(suffix)
            .filter(|s| s.len() >= min_stem)
            .map(str::to_string)
    };
    if let Some(s) = strip("ies", 3) {
        return s + "y";
    }
    if let Some(s) = strip("sses", 2) {
        return s + "ss";
    }
    for suffix in ["ings", "ing"] {
        if let Some(s) = strip(suffix, 3) {
            return restore_e(&s);
        }
    }
    if let Some(s) = strip("ed", 3) {
        return restore_e(&s);
    }
    if let Some(s) = strip("es", 3)
        && (s.ends_with("sh") || s.ends_with("ch") || s.ends_with('x') || s.ends_with("ss"))
    {
        return s;
    }
    if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        let s = &w[..w.len() - 1];
        // "articles" → "article", "quotes" → "quote": the `e` stays.
        return s.to_string();
    }
    w.to_string()
}

/// After an `-ing`/`-ed` strip: "scor" → "score", "translat" → "translate", "search" stays.
fn restore_e(s: &str) -> String {
    let bytes = s.as_bytes();
    let n = bytes.len();
    let vowel = |b: u8| b"aeiou".contains(&b);
    // A doubled final consonant ("stopp") loses one.
    if n >= 2
        && bytes[n - 1] == bytes[n - 2]
        && !vowel(bytes[n - 1])
        && !b"lsz".contains(&bytes[n - 1])
    {
        return s[..n - 1].to_string();
    }
    // consonant-vowel-consonant ending, as in "scor", "translat", "rat": add the `e` back.
    if n >= 3
        && !vowel(bytes[n - 1])
        && vowel(bytes[n - 2])
        && !vowel(bytes[n - 3])
        && !b"wxy".contains(&bytes[n - 1])
    {
        return format!("{s}e");
    }
    s.to_string()
}

/// Everyday words → the words registries use for them. Both sides are stemmed terms; a request word is searched
/// for as itself and as each of its expansions.
const THESAURUS: &[(&str, &[&str])] = &[
    ("tweet", &["twitter"]),
    ("x", &["twitter"]),
    ("toot", &["mastodon"]),
    ("fediverse", &["mastodon"]),
    ("subreddit", &["reddit"]),
    ("mood", &["sentiment"]),
    ("feel", &["sentiment"]),
    ("feeling", &["sentiment"]),
    ("opinion", &["sentiment"]),
    ("emotion", &["sentiment"]),
    ("tone", &["sentiment"]),
    ("positive", &["sentiment"]),
    ("negative", &["sentiment"]),
    ("polarity", &["sentiment"]),
    ("happy", &["sentiment"]),
    ("angry", &["sentiment"]),
    ("react", &["sentiment"]),
    ("reaction", &["sentiment"]),
    ("article", &["news"]),
    ("headline", &["news"]),
    ("press", &["news"]),
    ("journalist", &["news"]),
    ("media", &["news"]),
    ("stock", &["finance", "quote"]),
    ("share", &["finance", "quote"]),
    ("ticker", &["finance", "quote", "symbol"]),
    ("price", &["finance", "quote"]),
    ("market", &["finance", "quote"]),
    ("nasdaq", &["finance", "quote"]),
    ("feed", &["rss"]),
    ("blog", &["rss"]),
    ("podcast", &["rss"]),
    ("atom", &["rss"]),
    ("website", &["web", "page"]),
    ("site", &["web", "page"]),
    ("url", &["web", "page"]),
    ("homepage", &["web", "page"]),
    ("scrape", &["fetch", "page"]),
    ("download", &["fetch", "page"]),
    ("people", &["entity"]),
    ("person", &["entity"]),
    ("company", &["entity", "organization"]),
    ("companie", &["entity", "organization"]),
    ("brand", &["entity", "organization"]),
    ("organisation", &["entity", "organization"]),
    ("place", &["entity"]),
    ("location", &["entity"]),
    ("mention", &["entity"]),
    ("ner", &["entity"]),
    ("theme", &["topic", "cluster"]),
    ("group", &["cluster", "topic"]),
    ("categorize", &["cluster", "topic"]),
    ("categorise", &["cluster", "topic"]),
    ("categori", &["cluster", "topic"]),
    ("duplicate", &["dedupe"]),
    ("deduplicate", &["dedupe"]),
    ("unique", &["dedupe"]),
    ("repost", &["dedupe"]),
    ("combine", &["merge"]),
    ("join", &["merge"]),
    ("concatenate", &["merge"]),
    ("together", &["merge"]),
    ("both", &["merge"]),
    ("rank", &["sort"]),
    ("order", &["sort"]),
    ("top", &["sort"]),
    ("best", &["sort"]),
    ("most", &["sort"]),
    ("highest", &["sort"]),
    ("popular", &["sort"]),
    ("keep", &["filter"]),
    ("only", &["filter"]),
    ("exclude", &["filter"]),
    ("remove", &["filter"]),
    ("drop", &["filter"]),
    ("where", &["filter"]),
    ("summarize", &["summary"]),
    ("summarise", &["summary"]),
    ("digest", &["summary"]),
    ("overview", &["summary"]),
    ("brief", &["summary"]),
    ("briefing", &["summary"]),
    ("tldr", &["summary"]),
    ("recap", &["summary"]),
    ("gist", &["summary"]),
    ("report", &["summary"]),
    ("translate", &["translation"]),
    ("english", &["translation", "language"]),
    ("german", &["translation", "language"]),
    ("french", &["translation", "language"]),
    ("spanish", &["translation", "language"]),
    ("detect", &["language"]),
    ("keyword", &["keyword"]),
    ("phrase", &["keyword"]),
    ("term", &["keyword"]),
    ("buzzword", &["keyword"]),
    ("hashtag", &["keyword"]),
    ("trend", &["keyword", "topic"]),
    ("trending", &["keyword", "topic"]),
    ("reshape", &["custom", "expression"]),
    ("jq", &["custom", "expression"]),
    ("jsonata", &["custom", "expression"]),
    ("extract", &["extract"]),
    ("field", &["custom", "expression"]),
];

fn expand(term: &str) -> Vec<String> {
    THESAURUS
        .iter()
        .filter(|(from, _)| stem(from) == term)
        .flat_map(|(_, to)| to.iter().map(|t| stem(t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(registry: &Registry, request: &str, k: usize) -> Vec<String> {
        retrieve(registry, request, k)
            .into_iter()
            .map(|m| m.id().to_string())
            .collect()
    }

    #[test]
    fn stems_meet() {
        for (a, b) in [
            ("posts", "post"),
            ("summaries", "summary"),
            ("translated", "translate"),
            ("translating", "translate"),
            ("scoring", "score"),
            ("searches", "search"),
            ("articles", "article"),
            ("quotes", "quote"),
            ("entities", "entity"),
            ("news", "news"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_eq!(stem("status"), "status");
    }

    #[test]
    fn ranks_the_obvious_methods_first() {
        let registry = Registry::bundled();
        let top = ids(
            &registry,
            "find tweets and reddit posts about AI and score their sentiment",
            4,
        );
        for id in [
            "social.twitter.search",
            "social.reddit.search",
            "nlp.sentiment.analyze",
        ] {
            assert!(top.contains(&id.to_string()), "{id} not in {top:?}");
        }
        let top = ids(&registry, "translate news articles into German", 3);
        assert!(top.contains(&"news.newsapi.search".to_string()), "{top:?}");
        assert!(
            top.contains(&"nlp.translation.translate".to_string()),
            "{top:?}"
        );
    }

    #[test]
    fn named_methods_are_always_offered_and_both_kinds_are_present() {
        let registry = Registry::bundled();
        let top = ids(
            &registry,
            "sentiment of posts, and use data.custom.transform at the end",
            1,
        );
        assert!(
            top.contains(&"data.custom.transform".to_string()),
            "{top:?}"
        );
        assert!(
            top.iter()
                .any(|id| registry.get(id).unwrap().spec.kind == MethodKind::Source),
            "{top:?}"
        );
        // A request that matches nothing still gets something to work with.
        let top = ids(&registry, "zzz qqq", 3);
        assert!(!top.is_empty());
    }

    #[test]
    fn is_deterministic() {
        let registry = Registry::bundled();
        let a = ids(&registry, "monitor mastodon and rss feeds for rust news", 6);
        let b = ids(&registry, "monitor mastodon and rss feeds for rust news", 6);
        assert_eq!(a, b);
        // Only methods that match something are offered: at most k.
        assert!(a.len() <= 6 && a.len() >= 3, "{a:?}");
        assert!(a.contains(&"social.mastodon.search".to_string()), "{a:?}");
        assert!(a.contains(&"web.rss.read".to_string()), "{a:?}");
    }
}
