//! Sources: searches, pages, feeds and quotes.

use serde_json::{Map, Value, json};

use super::params::{int_param, str_param};
use super::round;
use super::seed::{Rng, fnv1a, seed};
use super::time::{NOW, date, parse_time, rfc3339};
use super::vocab::{FIRST_NAMES, LAST_NAMES, ORGS, PLACES};
use super::words::{capitalize, slug};

const DAY: i64 = 86_400;

/// Posts in English: praise, complaints and neutral news, with names to extract and words the sentiment
/// lexicon knows. `{q}` is the query's topic.
const EN_POSTS: &[&str] = &[
    "Really impressed by {q} so far. The latest release is great and the docs are excellent.",
    "Huge thanks to the team at {org} for their work on {q}. It keeps getting better!",
    "Spent the weekend in {place} reading about {q}. Love how helpful the community is.",
    "Honestly disappointed with {q}. Slow, buggy, and the support from {org} was terrible.",
    "Another outage linked to {q} today. Frustrating, and nobody at {org} seems to care.",
    "{person} from {org} will talk about {q} at the meetup in {place} on Thursday.",
    "New report on {q} published by {org} this morning. Thread below.",
    "Does anyone have numbers on {q} adoption in {place}?",
    "There is a good idea at the core of {q}, but the pricing is a real problem.",
    "Switched our team to {q} last month. Easy setup, reliable, would recommend.",
    "Reading the announcement from {org} about {q} now. {person} explains the details.",
    "The hype around {q} is annoying. Most demos I saw in {place} were broken.",
];
const DE_POSTS: &[&str] = &[
    "Wirklich beeindruckt von {q}. Die neue Version ist super und die Doku ist gut.",
    "Ich bin leider enttäuscht von {q}, das Update von {org} ist schlecht.",
];
const FR_POSTS: &[&str] = &[
    "Très bonne nouvelle pour {q} : {org} annonce une version excellente.",
    "Je suis déçu par {q}, le service est lent et mauvais.",
];
const ES_POSTS: &[&str] = &[
    "Me encanta {q}, la comunidad en {place} es excelente.",
    "Muy decepcionado con {q}, el soporte de {org} es malo.",
];
const TITLES: &[&str] = &[
    "What's your experience with {q}?",
    "The debate about {q} is getting out of hand",
    "I built a small tool for {q} (feedback welcome)",
    "{org} announces changes to {q}",
    "Why {q} matters more than people think",
    "How {q} is changing {place}",
    "{person} on the future of {q}",
    "Critics warn over {q} risks",
];
const NEWS_TITLES: &[&str] = &[
    "{org} bets big on {q}",
    "How {q} is changing {place}",
    "{person} on the future of {q}",
    "Critics warn over {q} risks",
    "Why {q} matters more than people think",
    "{Q}: what the latest figures show",
    "Inside the plans of {org} for {q}",
    "Demand for {q} surges in {place}",
];
/// Sentences for articles: more sober than posts, still with names and sentiment words.
const NEWS_LEADS: &[&str] = &[
    "{org} said on Monday that demand for {q} rose sharply in {place}, calling the results excellent.",
    "Regulators in {place} are concerned about {q}, citing risks for consumers and a lack of oversight.",
    "{person}, an analyst at {org}, expects {q} to keep growing, although supply problems remain.",
    "A new study from {org} finds that {q} is improving fast, with users reporting better reliability.",
    "Prices for {q} fell again this quarter, a good sign for buyers in {place}.",
    "Critics say the rollout of {q} in {place} has been slow and poorly managed.",
];
const SUBREDDITS: &[&str] = &[
    "technology",
    "programming",
    "worldnews",
    "MachineLearning",
    "rust",
    "dataisbeautiful",
];
const OUTLETS: &[(&str, &str)] = &[
    ("BBC News", "bbc.co.uk"),
    ("Reuters", "reuters.com"),
    ("The Guardian", "theguardian.com"),
    ("TechCrunch", "techcrunch.com"),
    ("Wired", "wired.com"),
    ("Der Spiegel", "spiegel.de"),
    ("Le Monde", "lemonde.fr"),
    ("Ars Technica", "arstechnica.com"),
];

/// What a search query is about: its words without operators, excluded words and fields.
struct Query {
    topic: String,
    /// `from:user` / `author:user`.
    from: Option<String>,
    hashtags: Vec<String>,
}

fn parse_query(query: &str) -> Query {
    let mut topic = Vec::new();
    let mut from = None;
    let mut hashtags = Vec::new();
    for token in query.split_whitespace() {
        let token = token.trim_matches(|c| c == '"' || c == '(' || c == ')');
        if token.is_empty() || token.starts_with('-') || ["OR", "AND", "NOT"].contains(&token) {
            continue;
        }
        if let Some((field, value)) = token.split_once(':') {
            if field == "from" || field == "author" {
                from = Some(value.trim_start_matches('@').to_string());
            } else if field == "title" && !value.is_empty() {
                topic.push(value.to_string());
            }
            continue;
        }
        if let Some(tag) = token.strip_prefix('#') {
            hashtags.push(tag.to_string());
        }
        topic.push(token.trim_start_matches('+').to_string());
    }
    let topic = if topic.is_empty() {
        query.trim().to_string()
    } else {
        topic.join(" ")
    };
    Query {
        topic,
        from,
        hashtags,
    }
}

fn fill(template: &str, topic: &str, rng: &mut Rng) -> String {
    let person = format!("{} {}", rng.word(FIRST_NAMES), rng.word(LAST_NAMES));
    template
        .replace("{q}", topic)
        .replace("{Q}", &capitalize(topic))
        .replace("{org}", rng.word(ORGS))
        .replace("{place}", rng.word(PLACES))
        .replace("{person}", &person)
}

/// A post's text and language: in `language` when we have templates for it, else mostly English.
fn post(topic: &str, language: Option<&str>, rng: &mut Rng) -> (String, String) {
    let lang = match language {
        Some(l) => l.to_string(),
        None => {
            let roll = rng.unit();
            if roll < 0.85 {
                "en"
            } else if roll < 0.90 {
                "de"
            } else if roll < 0.95 {
                "fr"
            } else {
                "es"
            }
            .to_string()
        }
    };
    let templates = match lang.as_str() {
        "de" => DE_POSTS,
        "fr" => FR_POSTS,
        "es" => ES_POSTS,
        _ => EN_POSTS,
    };
    (fill(rng.word(templates), topic, rng), lang)
}

/// `(first last, handle)`.
fn person(rng: &mut Rng) -> (String, String) {
    let (first, last) = (rng.word(FIRST_NAMES), rng.word(LAST_NAMES));
    let handle = match rng.below(3) {
        0 => format!("{first}{last}"),
        1 => format!("{first}_{last}{}", rng.range(1, 99)),
        _ => format!("{}{last}", &first[..1]),
    };
    (format!("{first} {last}"), handle.to_lowercase())
}

/// The number of records to return and the seed of the search without its `limit`, so that a smaller limit
/// returns a subset of the records of a larger one.
fn search_setup(id: &str, p: &Value, max: usize) -> (usize, u64) {
    let limit = int_param(p, "limit").unwrap_or(100).max(1) as usize;
    let mut without_limit = p.clone();
    if let Some(map) = without_limit.as_object_mut() {
        map.remove("limit");
    }
    (limit.min(max), seed(id, &without_limit))
}

fn base36(mut n: u64, len: usize) -> String {
    let mut s = Vec::new();
    for _ in 0..len {
        s.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
    }
    String::from_utf8(s).unwrap_or_default()
}

/// A skewed count: most are small, a few are large.
fn popularity(rng: &mut Rng, max: f64) -> i64 {
    (rng.unit().powi(3) * max) as i64
}

fn sort_newest_first(results: &mut [Value]) {
    results.sort_by(|a, b| b["created_at"].as_str().cmp(&a["created_at"].as_str()));
}

fn results(results: Vec<Value>) -> Value {
    let count = results.len();
    json!({"results": results, "count": count})
}

pub(super) fn twitter(p: &Value, max: usize) -> Value {
    let (limit, seed) = search_setup("social.twitter.search", p, max);
    let q = parse_query(str_param(p, "query").unwrap_or("news"));
    let language = str_param(p, "language");
    let retweets = p.get("include_retweets").and_then(Value::as_bool) == Some(true);
    let min_likes = int_param(p, "min_likes").unwrap_or(0).max(0);
    let mut out: Vec<Value> = (0..limit)
        .map(|i| {
            let rng = &mut Rng::fork(seed, i);
            let (name, mut handle) = person(rng);
            if let Some(from) = &q.from {
                handle = from.clone();
            }
            let (mut text, lang) = post(&q.topic, language, rng);
            let mut hashtags = q.hashtags.clone();
            if rng.chance(0.4) {
                hashtags.push(slug(&q.topic).replace('-', ""));
            }
            hashtags.dedup();
            for tag in &hashtags {
                if !text.contains(&format!("#{tag}")) {
                    text.push_str(&format!(" #{tag}"));
                }
            }
            if retweets && rng.chance(0.2) {
                text = format!("RT @{}: {text}", person(rng).1);
            }
            let id = 1_790_000_000_000_000_000 + rng.below(10_000_000_000_000_000) as u64;
            let likes = min_likes + popularity(rng, 5000.0);
            json!({
                "id": id.to_string(),
                "text": text,
                "author": handle,
                "author_name": name,
                "url": format!("https://x.com/{handle}/status/{id}"),
                "created_at": rfc3339(NOW - rng.range(60, 7 * DAY)),
                "language": lang,
                "likes": likes,
                "retweets": (likes as f64 * rng.unit() * 0.3) as i64,
                "replies": (likes as f64 * rng.unit() * 0.1) as i64,
                "hashtags": hashtags,
            })
        })
        .collect();
    sort_newest_first(&mut out);
    results(out)
}

pub(super) fn reddit(p: &Value, max: usize) -> Value {
    let (limit, seed) = search_setup("social.reddit.search", p, max);
    let q = parse_query(str_param(p, "query").unwrap_or("news"));
    let span = match str_param(p, "time_range").unwrap_or("week") {
        "hour" => 3600,
        "day" => DAY,
        "month" => 30 * DAY,
        "year" => 365 * DAY,
        "all" => 5 * 365 * DAY,
        _ => 7 * DAY,
    };
    let mut out: Vec<Value> = (0..limit)
        .map(|i| {
            let rng = &mut Rng::fork(seed, i);
            let subreddit = str_param(p, "subreddit")
                .map(str::to_string)
                .unwrap_or_else(|| rng.word(SUBREDDITS).to_string());
            let id = base36(rng.next_u64(), 7);
            let title = fill(rng.word(TITLES), &q.topic, rng);
            let (body, _) = post(&q.topic, Some("en"), rng);
            let author = q.from.clone().unwrap_or_else(|| person(rng).1);
            let score = popularity(rng, 4000.0) - rng.range(0, 5);
            let mut record = json!({
                "id": id,
                "title": title,
                "text": format!("{title}\n\n{body}"),
                "author": author,
                "url": format!("https://www.reddit.com/r/{subreddit}/comments/{id}/{}/", slug(&title)),
                "created_at": rfc3339(NOW - rng.range(60, span)),
                "subreddit": subreddit,
                "score": score,
                "upvote_ratio": round(0.55 + 0.44 * rng.unit(), 2),
                "num_comments": popularity(rng, 800.0),
            });
            if rng.chance(0.3) {
                let (_, domain) = rng.pick(OUTLETS);
                record["link_url"] = json!(format!("https://www.{domain}/{}", slug(&title)));
            }
            record
        })
        .collect();
    let by = |key: &'static str| move |a: &Value, b: &Value| b[key].as_i64().cmp(&a[key].as_i64());
    match str_param(p, "sort").unwrap_or("relevance") {
        "new" => sort_newest_first(&mut out),
        "top" | "hot" => out.sort_by(by("score")),
        "comments" => out.sort_by(by("num_comments")),
        _ => {}
    }
    results(out)
}

pub(super) fn mastodon(p: &Value, max: usize) -> Value {
    let (limit, seed) = search_setup("social.mastodon.search", p, max);
    let q = parse_query(str_param(p, "query").unwrap_or("news"));
    let instance = str_param(p, "instance").unwrap_or("mastodon.social");
    let language = str_param(p, "language");
    let mut out: Vec<Value> = (0..limit)
        .map(|i| {
            let rng = &mut Rng::fork(seed, i);
            let home = rng.word(&[instance, instance, "fosstodon.org", "hachyderm.io"]);
            let handle = person(rng).1;
            let id = 110_000_000_000_000_000 + rng.below(10_000_000_000_000_000) as u64;
            let (mut text, lang) = post(&q.topic, language, rng);
            for tag in &q.hashtags {
                text.push_str(&format!(" #{tag}"));
            }
            json!({
                "id": id.to_string(),
                "text": text,
                "author": format!("{handle}@{home}"),
                "url": format!("https://{home}/@{handle}/{id}"),
                "created_at": rfc3339(NOW - rng.range(60, 7 * DAY)),
                "instance": home,
                "language": lang,
                "favourites": popularity(rng, 600.0),
                "reblogs": popularity(rng, 200.0),
                "replies": popularity(rng, 60.0),
                "sensitive": rng.chance(0.05),
            })
        })
        .collect();
    sort_newest_first(&mut out);
    results(out)
}

pub(super) fn newsapi(p: &Value, max: usize) -> Value {
    let (limit, seed) = search_setup("news.newsapi.search", p, max);
    let q = parse_query(str_param(p, "query").unwrap_or("news"));
    let list = |key: &str| -> Vec<String> {
        p.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let excluded = list("exclude_domains");
    let mut outlets: Vec<(String, String)> = match list("domains") {
        domains if !domains.is_empty() => domains.into_iter().map(|d| (d.clone(), d)).collect(),
        _ => OUTLETS
            .iter()
            .map(|(n, d)| (n.to_string(), d.to_string()))
            .collect(),
    };
    outlets.retain(|(_, d)| !excluded.contains(d));
    if outlets.is_empty() {
        outlets.push(("Example News".into(), "news.example.com".into()));
    }
    let end = str_param(p, "to")
        .and_then(parse_time)
        .map_or(NOW, |t| t + DAY - 1);
    let start = str_param(p, "from")
        .and_then(parse_time)
        .unwrap_or(end - 30 * DAY)
        .min(end);
    let mut out: Vec<Value> = (0..limit)
        .map(|i| {
            let rng = &mut Rng::fork(seed, i);
            let (source, domain) = rng.pick(&outlets).clone();
            let title = fill(rng.word(NEWS_TITLES), &q.topic, rng);
            let created = rng.range(start, end);
            let first = rng.below(NEWS_LEADS.len());
            let second = (first + 1 + rng.below(NEWS_LEADS.len() - 1)) % NEWS_LEADS.len();
            let lead = fill(NEWS_LEADS[first], &q.topic, rng);
            let more = fill(NEWS_LEADS[second], &q.topic, rng);
            let url = format!(
                "https://www.{domain}/{}/{}-{}",
                &date(created)[..7].replace('-', "/"),
                slug(&title),
                rng.range(1000, 9999)
            );
            let (name, _) = person(rng);
            json!({
                "id": format!("{:016x}", fnv1a(&[url.as_bytes()])),
                "title": title,
                "description": lead,
                "text": format!("{lead} {more} … [+{} chars]", rng.range(800, 6000)),
                "author": if rng.chance(0.1) { String::new() } else { name },
                "url": url,
                "image_url": format!("https://{domain}/images/{}.jpg", rng.range(10_000, 99_999)),
                "source": source,
                "created_at": rfc3339(created),
            })
        })
        .collect();
    if str_param(p, "sort_by").unwrap_or("published_at") == "published_at" {
        sort_newest_first(&mut out);
    }
    let mut result = results(out);
    let count = result["count"].as_u64().unwrap_or(0);
    let mut rng = Rng::new(seed);
    result["total_available"] = json!(count.max(rng.range(120, 4000) as u64));
    result
}

/// `(scheme, host, path)` of a URL.
fn split_url(url: &str) -> (&str, &str, &str) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    (scheme, host.split(['?', '#']).next().unwrap_or(host), path)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(super) fn page(p: &Value) -> Value {
    let url = str_param(p, "url").unwrap_or("https://example.com/");
    let rng = &mut Rng::new(seed("web.page.fetch", &json!({"url": url})));
    let (_, host, path) = split_url(url);
    let segment = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .split('/')
        .rfind(|s| !s.is_empty())
        .map(|s| s.split('.').next().unwrap_or(s));
    let not_found = path.contains("404") || path.contains("not-found");
    let (status, title, paragraphs) = if not_found {
        (
            404,
            "Not Found".to_string(),
            vec!["The page you requested could not be found.".to_string()],
        )
    } else {
        let topic = match segment {
            Some(s) if s.chars().any(char::is_alphabetic) => s.replace(['-', '_'], " "),
            _ => host.trim_start_matches("www.").to_string(),
        };
        let title = capitalize(&topic);
        let paragraphs = vec![
            format!(
                "{title}. This page on {host} covers {topic} in detail, with background, recent developments and practical advice."
            ),
            fill(
                "{person} of {org} said the work on {q} in {place} has been impressive, although some readers report problems with the rollout.",
                &topic,
                rng,
            ),
            fill(
                "Critics in {place} remain concerned about the cost, while supporters at {org} call the results excellent.",
                &topic,
                rng,
            ),
            format!(
                "Updated {}. Related: {topic} news, guides and discussion.",
                date(NOW - rng.range(0, 90) * DAY)
            ),
        ];
        (200, title, paragraphs)
    };
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n",
        escape_html(&title),
        escape_html(&title)
    );
    for para in &paragraphs {
        html.push_str(&format!("<p>{}</p>\n", escape_html(para)));
    }
    html.push_str("</body>\n</html>\n");
    if let Some(max) = int_param(p, "max_bytes").map(|m| m.max(0) as usize)
        && html.len() > max
    {
        let mut cut = max;
        while !html.is_char_boundary(cut) {
            cut -= 1;
        }
        html.truncate(cut);
    }
    json!({
        "url": url,
        "title": title,
        "text": paragraphs.join("\n\n"),
        "html": html,
        "status": status,
        "content_type": "text/html; charset=utf-8",
        "language": "en",
        "fetched_at": rfc3339(NOW),
    })
}

pub(super) fn rss(p: &Value, max: usize) -> Value {
    let (limit, seed) = search_setup("web.rss.read", p, max);
    let feed_url = str_param(p, "feed_url").unwrap_or("https://example.com/feed.xml");
    let (scheme, host, _) = split_url(feed_url);
    let site = host.trim_start_matches("www.");
    let label = site
        .split('.')
        .rev()
        .nth(1)
        .or_else(|| site.split('.').next())
        .unwrap_or(site);
    let topic = label.replace(['-', '_'], " ");
    let since = str_param(p, "since").and_then(parse_time);
    let mut rng = Rng::new(seed);
    let mut time = NOW;
    let mut out = Vec::new();
    for i in 0..limit {
        time -= rng.range(2 * 3600, 2 * DAY);
        if since.is_some_and(|s| time < s) {
            break;
        }
        let rng = &mut Rng::fork(seed, i);
        let title = fill(rng.word(TITLES), &topic, rng);
        let url = format!("{scheme}://{host}/posts/{}", slug(&title));
        let (text, _) = post(&topic, Some("en"), rng);
        out.push(json!({
            "id": url,
            "title": title,
            "text": text,
            "author": person(rng).0,
            "url": url,
            "created_at": rfc3339(time),
            "categories": [topic, rng.word(&["news", "release", "community", "analysis"])],
        }));
    }
    let mut result = results(out);
    result["feed_title"] = json!(format!("{} — latest posts", capitalize(&topic)));
    result["feed_url"] = json!(feed_url);
    result
}

/// Known tickers: name, exchange, currency.
fn instrument(symbol: &str) -> (String, &'static str, &'static str) {
    let known = [
        ("AAPL", "Apple Inc.", "NASDAQ", "USD"),
        ("MSFT", "Microsoft Corporation", "NASDAQ", "USD"),
        ("GOOGL", "Alphabet Inc.", "NASDAQ", "USD"),
        ("AMZN", "Amazon.com, Inc.", "NASDAQ", "USD"),
        ("NVDA", "NVIDIA Corporation", "NASDAQ", "USD"),
        ("TSLA", "Tesla, Inc.", "NASDAQ", "USD"),
        ("SAP.DE", "SAP SE", "XETRA", "EUR"),
        ("^GSPC", "S&P 500", "SNP", "USD"),
    ];
    if let Some((_, name, exchange, currency)) = known.iter().find(|k| k.0 == symbol) {
        return (name.to_string(), exchange, currency);
    }
    let base = symbol
        .split('.')
        .next()
        .unwrap_or(symbol)
        .trim_start_matches('^');
    let (exchange, currency) = match symbol.rsplit_once('.').map(|(_, s)| s) {
        Some("DE") => ("XETRA", "EUR"),
        Some("PA") => ("Euronext Paris", "EUR"),
        Some("L") => ("LSE", "GBP"),
        Some("T") => ("TSE", "JPY"),
        _ => ("NYSE", "USD"),
    };
    (
        format!("{} Holdings", capitalize(&base.to_lowercase())),
        exchange,
        currency,
    )
}

/// Symbols that are "not found": starting with `ZZ` or equal to `INVALID`.
fn unknown_symbol(symbol: &str) -> bool {
    symbol.starts_with("ZZ") || symbol == "INVALID"
}

pub(super) fn quotes(p: &Value) -> Value {
    let symbols: Vec<&str> = p
        .get("symbols")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let days = match str_param(p, "range").unwrap_or("1mo") {
        "1d" => 1.0,
        "5d" => 5.0,
        "3mo" => 63.0,
        "6mo" => 126.0,
        "1y" => 252.0,
        "5y" => 1260.0,
        _ => 21.0,
    };
    let (per_day, step) = match str_param(p, "interval").unwrap_or("1d") {
        "5m" => (78.0, 300),
        "15m" => (26.0, 900),
        "1h" => (7.0, 3600),
        "1wk" => (0.2, 7 * DAY),
        _ => (1.0, DAY),
    };
    let points = ((days * per_day) as usize).clamp(1, 500);
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for symbol in symbols {
        if unknown_symbol(symbol) {
            missing.push(symbol);
            continue;
        }
        // The price depends on the symbol only, so it is the same whatever the range.
        let rng = &mut Rng::new(fnv1a(&[b"quote", symbol.as_bytes()]));
        let price = round(20.0 + rng.unit() * 480.0, 2);
        let previous = round(price / (1.0 + (rng.unit() - 0.5) * 0.06), 2);
        let (name, exchange, currency) = instrument(symbol);
        let mut history = Vec::with_capacity(points);
        let mut close = price;
        for k in 0..points {
            let open = close / (1.0 + (rng.unit() - 0.5) * 0.04);
            let high = open.max(close) * (1.0 + rng.unit() * 0.01);
            let low = open.min(close) * (1.0 - rng.unit() * 0.01);
            history.push(json!({
                "time": rfc3339(NOW - 4 * 3600 - k as i64 * step),
                "open": round(open, 2),
                "high": round(high, 2),
                "low": round(low, 2),
                "close": round(close, 2),
                "volume": 100_000 + popularity(rng, 20_000_000.0),
            }));
            close = open;
        }
        history.reverse();
        let change = round(price - previous, 2);
        let mut q = Map::new();
        q.insert("symbol".into(), json!(symbol));
        q.insert("name".into(), json!(name));
        q.insert("exchange".into(), json!(exchange));
        q.insert("currency".into(), json!(currency));
        q.insert("price".into(), json!(price));
        q.insert("change".into(), json!(change));
        q.insert(
            "change_percent".into(),
            json!(round(change / previous * 100.0, 2)),
        );
        q.insert(
            "volume".into(),
            json!(1_000_000 + popularity(rng, 80_000_000.0)),
        );
        q.insert("timestamp".into(), json!(rfc3339(NOW - 4 * 3600)));
        q.insert("history".into(), Value::Array(history));
        found.push(Value::Object(q));
    }
    json!({"results": found, "count": found.len(), "missing": missing})
}
