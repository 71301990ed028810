#!/usr/bin/env python3
"""Generate a benchmark corpus of ODP pipelines (the project's language, bundled registry).

Adapted from ../shared/measure/gen_corpus.py (the peers' stand-in corpus) to the language of docs/language.md:
only methods and params of crates/odp-analysis/registry/default.registry.yaml, steps with `name`, `method`,
`params` and optional `description`, `timeout` (a duration with a unit) and `retry`; inputs with `type`,
`default`, `description`, `required`. Sources reference only `{{inputs.X}}`; transforms reference inputs and
earlier steps with templates whose types fit the parameter (`texts: "{{tweets.results[*].text}}"`,
`records: "{{step.results}}"`). Every template is quoted, every source is used by a transform and every
declared input by a template, so a valid file gets no diagnostic at all from `odp-lsp check`, not even a
warning.

Outputs (under OUT_DIR):
  big/big_pipeline.odp.yaml      one large valid pipeline (~20,000 lines, ~1 MB), steps step_0..step_N
  small/pipeline_NNNNN.odp.yaml  N small pipelines (~26-64 lines each, varied styles); a fraction
                                 (--invalid-fraction) carry exactly one deliberate structural error that
                                 both odp and a JSON Schema validator with schemas/pipeline.schema.json detect,
                                 listed (file<TAB>kind) in small/INVALID.txt
  manifest.json                  counts, sizes, seed, and where the LSP edit/completion target in the big
                                 file is (0-based line numbers)

Deterministic for a given --seed. Stdlib only.

Usage:
  python3 tests/bench/gen_corpus.py OUT_DIR [--big-lines 20000] [--small-count 10000]
                                            [--invalid-fraction 0.05] [--seed 1]
"""
import argparse
import json
import os
import random
import sys

# ------------------------------------------------------------------------------------------------ registry facts
# What each method's result offers to later steps, by the kind of value a template yields:
#   records: list<object>   texts: list<string>   text: string   count: integer (for interpolation)
OFFERS = {
    "social.twitter.search": {"records": ["results"], "texts": ["results[*].text"] * 4 + ["results[*].author"],
                              "count": ["count"]},
    "social.reddit.search": {"records": ["results"], "texts": ["results[*].text"] * 3 + ["results[*].title"],
                             "count": ["count"]},
    "social.mastodon.search": {"records": ["results"], "texts": ["results[*].text"], "count": ["count"]},
    "news.newsapi.search": {"records": ["results"],
                            "texts": ["results[*].text", "results[*].title", "results[*].description"],
                            "count": ["count", "total_available"]},
    "web.page.fetch": {"text": ["text"] * 3 + ["title"], "count": ["status"]},
    "web.rss.read": {"records": ["results"], "texts": ["results[*].text", "results[*].title"], "count": ["count"]},
    "finance.market.quotes": {"records": ["results"], "texts": ["results[*].name", "results[*].symbol"],
                              "count": ["count"]},
    "nlp.sentiment.analyze": {"records": ["results"], "texts": ["results[*].text"],
                              "count": ["summary.positive", "summary.negative"]},
    "nlp.entities.extract": {"records": ["results", "top_entities"],
                             "texts": ["results[*].text", "top_entities[*].text"]},
    "nlp.summary.generate": {"text": ["summary"], "texts": ["key_points"], "count": ["word_count"]},
    "nlp.language.detect": {"records": ["results"], "texts": ["results[*].text", "results[*].language"]},
    "nlp.translation.translate": {"records": ["results"],
                                  "texts": ["results[*].translation", "results[*].text"]},
    "nlp.keywords.extract": {"records": ["keywords"], "texts": ["keywords[*].keyword"]},
    "ml.topics.cluster": {"records": ["topics", "assignments"], "texts": ["topics[*].label"]},
    "data.records.merge": {"records": ["results"], "texts": ["results[*].text"], "count": ["count"]},
    "data.records.dedupe": {"records": ["results"], "texts": ["results[*].text"], "count": ["count", "removed"]},
    "data.records.filter": {"records": ["results"], "texts": ["results[*].text"], "count": ["count"]},
    "data.records.sort": {"records": ["results"], "texts": ["results[*].text"], "count": ["count"]},
    "data.custom.transform": {"records": ["items", "results"], "texts": ["texts", "items[*].text"]},  # dynamic
}
SOURCE_METHODS = ["social.twitter.search", "social.reddit.search", "social.mastodon.search",
                  "news.newsapi.search", "web.page.fetch", "web.rss.read", "finance.market.quotes"]
SOURCE_WEIGHTS = [5, 4, 2, 3, 1, 2, 1]
TRANSFORM_METHODS = ["nlp.sentiment.analyze", "nlp.entities.extract", "nlp.summary.generate",
                     "nlp.language.detect", "nlp.translation.translate", "nlp.keywords.extract",
                     "ml.topics.cluster", "data.records.merge", "data.records.dedupe", "data.records.filter",
                     "data.records.sort", "data.custom.transform"]
ALL_METHODS = SOURCE_METHODS + TRANSFORM_METHODS  # the bundled registry's 19 ids
# The kind of value each transform's main parameter takes.
CONSUMES = {
    "nlp.sentiment.analyze": ["texts"], "nlp.entities.extract": ["texts"],
    "nlp.summary.generate": ["texts", "text"], "nlp.language.detect": ["texts"],
    "nlp.translation.translate": ["texts"], "nlp.keywords.extract": ["texts"], "ml.topics.cluster": ["texts"],
    "data.records.merge": ["records"], "data.records.dedupe": ["records"], "data.records.filter": ["records"],
    "data.records.sort": ["records"], "data.custom.transform": ["records", "text"],
}

TOPICS = [
    "AI", "climate policy", "open source", "rust language", "electric vehicles",
    "quantum computing", "space launches", "privacy law", "chip shortage",
    "remote work", "renewable energy", "LLM safety", "supply chains", "elections",
]
SUBREDDITS = ["MachineLearning", "technology", "programming", "science", "worldnews", "rust"]
FEEDS = ["https://news.example.com/rss/tech.xml", "https://blog.example.org/feed",
         "https://research.example.net/atom.xml"]
PAGES = ["https://www.rust-lang.org/", "https://blog.example.org/release-notes",
         "https://www.example.com/press/2024"]
INSTANCES = ["mastodon.social", "fosstodon.org", "hachyderm.io"]
DOMAINS = ["bbc.co.uk", "reuters.com", "theguardian.com", "apnews.com"]
SYMBOLS = ["AAPL", "MSFT", "NVDA", "SAP.DE", "ASML", "TSLA"]
LANGS = ["en", "de", "fr", "es"]
ENTITY_TYPES = ["person", "organization", "location", "product", "event"]
FIELDS = ["id", "url", "text", "author"]
EXPRESSIONS = ["map(.text) | unique", "length", ".[0:10]", "[.[] | select(.text != null)]", "sort_by(.id)"]
WORDS = (
    "collect recent public posts about the topic and normalise them into a common record "
    "shape so that downstream scoring can compare sources fairly across languages and "
    "regions while dropping duplicates spam and very short messages"
).split()
STEP_PREFIX = {"source": ["fetch", "scan", "pull", "crawl"], "transform": ["score", "clean", "rank", "tag", "sum"]}

# Inputs a pipeline may declare: name -> (type, default as YAML text, description).
INPUTS = {
    "query": ("string", None, "What to search for."),
    "limit": ("integer", None, "Maximum number of items per source."),
    "language": ("string", '"en"', "Language of the posts (ISO 639-1)."),
    "since": ("string", '"2024-01-01T00:00:00Z"', "Only items published after this time."),
    "page_url": ("string", None, "A page that gives context."),
    "feed_url": ("string", None, "The feed to read."),
    "symbols": ("array", "[AAPL, MSFT]", "Ticker symbols to follow."),
    "threshold": ("number", "0.5", "Confidence below which results are neutral."),
    "include_retweets": ("boolean", "false", "Also return reposts."),
    "domains": ("array", "[bbc.co.uk, reuters.com]", "Only articles from these outlets."),
}


def sentence(rng, lo=6, hi=14):
    n = rng.randint(lo, hi)
    start = rng.randrange(0, len(WORDS) - n)
    s = " ".join(WORDS[start:start + n])
    return s[0].upper() + s[1:]


def q(s):
    """YAML double-quoted scalar (our strings never contain quotes or backslashes)."""
    return '"' + s + '"'


def flow_list(items):
    return "[" + ", ".join(items) + "]"


class Ctx:
    """What one pipeline has so far: its steps, the inputs its templates use, the sources not yet read."""

    def __init__(self, rng, avail_inputs, window=None):
        self.rng = rng
        self.avail = avail_inputs          # inputs that templates may use (declared if used)
        self.used_inputs = []              # in order of first use
        self.steps = []                    # (name, method)
        self.unused_sources = []           # names, oldest first
        self.referenced = set()
        self.window = window               # transforms reference only the last N steps (big file)

    def inp(self, name):
        if name not in self.used_inputs:
            self.used_inputs.append(name)
        return "inputs." + name

    def maybe_input(self, name, p=0.5):
        return name in self.avail and self.rng.random() < p

    def ref(self, step, path):
        self.referenced.add(step)
        if step in self.unused_sources:
            self.unused_sources.remove(step)
        return "%s.%s" % (step, path)

    def candidates(self, kind):
        steps = self.steps if self.window is None else self.steps[-self.window:]
        return [(n, m) for n, m in steps if kind in OFFERS[m]]


# ------------------------------------------------------------------------------------------------ step params

def source_params(ctx, method):
    rng = ctx.rng
    def query():
        if ctx.maybe_input("query", 0.7):
            return q(rng.choice(["{{%s}}", "{{%s}}", "{{%s}} -is:reply", "{{%s}} news"]) % ctx.inp("query"))
        return q(rng.choice(TOPICS))

    lim = lambda hi: (q("{{%s}}" % ctx.inp("limit")) if ctx.maybe_input("limit", 0.6)  # noqa: E731
                      else str(rng.choice([v for v in (10, 25, 50, 100, 200, 500) if v <= hi])))
    lang = lambda: q("{{%s}}" % ctx.inp("language")) if ctx.maybe_input("language") else rng.choice(LANGS)  # noqa
    p = []
    if method == "social.twitter.search":
        p.append(("query", query()))
        if rng.random() < 0.8:
            p.append(("limit", lim(1000)))
        if rng.random() < 0.6:
            p.append(("language", lang()))
        if ctx.maybe_input("include_retweets", 0.4):
            p.append(("include_retweets", q("{{%s}}" % ctx.inp("include_retweets"))))
        elif rng.random() < 0.2:
            p.append(("include_retweets", rng.choice(["true", "false"])))
        if rng.random() < 0.2:
            p.append(("min_likes", str(rng.choice([0, 5, 10, 100]))))
    elif method == "social.reddit.search":
        p.append(("query", query()))
        if rng.random() < 0.5:
            p.append(("subreddit", rng.choice(SUBREDDITS)))
        if rng.random() < 0.5:
            p.append(("sort", rng.choice(["relevance", "hot", "top", "new", "comments"])))
        if rng.random() < 0.5:
            p.append(("time_range", rng.choice(["hour", "day", "week", "month", "year", "all"])))
        if rng.random() < 0.7:
            p.append(("limit", lim(1000)))
    elif method == "social.mastodon.search":
        p.append(("query", query()))
        if rng.random() < 0.5:
            p.append(("instance", rng.choice(INSTANCES)))
        if rng.random() < 0.7:
            p.append(("limit", lim(500)))
        if rng.random() < 0.3:
            p.append(("language", lang()))
    elif method == "news.newsapi.search":
        p.append(("query", query()))
        if rng.random() < 0.5:
            p.append(("language", rng.choice(LANGS)))
        if rng.random() < 0.4:
            p.append(("from", q("2024-0%d-0%d" % (rng.randint(1, 9), rng.randint(1, 9)))))
        if rng.random() < 0.4:
            p.append(("sort_by", rng.choice(["relevancy", "popularity", "published_at"])))
        if ctx.maybe_input("domains", 0.5):
            p.append(("domains", q("{{%s}}" % ctx.inp("domains"))))
        elif rng.random() < 0.3:
            p.append(("exclude_domains", flow_list(rng.sample(DOMAINS, 2))))
        if rng.random() < 0.6:
            p.append(("limit", lim(500)))
    elif method == "web.page.fetch":
        url = q("{{%s}}" % ctx.inp("page_url")) if ctx.maybe_input("page_url", 0.7) else q(rng.choice(PAGES))
        p.append(("url", url))
        if rng.random() < 0.3:
            p.append(("render_js", rng.choice(["true", "false"])))
        if rng.random() < 0.3:
            p.append(("max_bytes", str(rng.choice([100000, 2000000]))))
    elif method == "web.rss.read":
        url = q("{{%s}}" % ctx.inp("feed_url")) if ctx.maybe_input("feed_url", 0.6) else q(rng.choice(FEEDS))
        p.append(("feed_url", url))
        if ctx.maybe_input("since", 0.7):
            p.append(("since", q("{{%s}}" % ctx.inp("since"))))
        if rng.random() < 0.6:
            p.append(("limit", lim(500)))
    else:  # finance.market.quotes
        if ctx.maybe_input("symbols", 0.7):
            p.append(("symbols", q("{{%s}}" % ctx.inp("symbols"))))
        else:
            p.append(("symbols", flow_list(rng.sample(SYMBOLS, rng.randint(1, 3)))))
        if rng.random() < 0.5:
            p.append(("range", rng.choice(["5d", "1mo", "3mo", "1y"])))
        if rng.random() < 0.4:
            p.append(("interval", "1d"))
    return p


def pick_ref(ctx, kind, prefer=None):
    """A template path of `kind` from `prefer` (a step name) or a random earlier step."""
    rng = ctx.rng
    if prefer is not None:
        name = prefer
        method = dict(ctx.steps)[prefer]
    else:
        name, method = rng.choice(ctx.candidates(kind))
    return ctx.ref(name, rng.choice(OFFERS[method][kind]))


def count_ref(ctx):
    cands = ctx.candidates("count")
    if not cands:
        return None
    name, method = ctx.rng.choice(cands)
    return ctx.ref(name, ctx.rng.choice(OFFERS[method]["count"]))


def transform_params(ctx, method, kind, prefer):
    rng = ctx.rng
    main = pick_ref(ctx, kind, prefer)
    p = []
    if method == "data.records.merge":
        lists = [main]
        for s in list(ctx.unused_sources):
            if len(lists) < 3 and "records" in OFFERS[dict(ctx.steps)[s]]:
                lists.append(ctx.ref(s, "results"))
        while len(lists) < 2 or (len(lists) < 3 and rng.random() < 0.3):
            lists.append(pick_ref(ctx, "records"))
        p.append(("lists", flow_list(q("{{%s}}" % r) for r in lists)))
        if rng.random() < 0.4:
            p.append(("tag_field", rng.choice(["origin", "source_index"])))
        return p
    if method == "data.custom.transform":
        p.append(("input", q("{{%s}}" % main)))
        p.append(("expression", q(rng.choice(EXPRESSIONS))))
        if rng.random() < 0.3:
            p.append(("engine", "jq"))
        return p
    if kind == "records":
        p.append(("records", q("{{%s}}" % main)))
        if method == "data.records.dedupe":
            p.append(("key", rng.choice(FIELDS)))
            if rng.random() < 0.6:
                p.append(("strategy", rng.choice(["exact", "normalized", "fuzzy"])))
            if rng.random() < 0.3:
                p.append(("threshold", "0.%d" % rng.randint(5, 9)))
        elif method == "data.records.filter":
            op = rng.choice(["eq", "ne", "gt", "lt", "contains", "in"])
            field, value = {
                "eq": ("language", rng.choice(LANGS)), "ne": ("author", "spam_bot"),
                "gt": ("score", str(rng.choice([1, 10, 100]))), "lt": ("created_at", q("2025-01-01")),
                "contains": ("text", q(rng.choice(TOPICS))), "in": ("language", flow_list(rng.sample(LANGS, 2))),
            }[op]
            p += [("field", field), ("op", op), ("value", value)]
            if op in ("eq", "contains") and rng.random() < 0.3:
                p.append(("case_sensitive", "false"))
        else:  # data.records.sort
            p.append(("field", rng.choice(["created_at", "score", "likes", "id"])))
            if rng.random() < 0.6:
                p.append(("order", rng.choice(["asc", "desc"])))
            if rng.random() < 0.5:
                p.append(("limit", str(rng.choice([5, 10, 20, 50]))))
        return p
    # text transforms
    if kind == "text":  # nlp.summary.generate with one document
        p.append(("text", q("{{%s}}" % main)))
        if rng.random() < 0.3 and ctx.candidates("texts"):
            p.append(("texts", q("{{%s}}" % pick_ref(ctx, "texts"))))
    else:
        p.append(("texts", q("{{%s}}" % main)))
    if method == "nlp.sentiment.analyze":
        if rng.random() < 0.4:
            p.append(("language", q("{{%s}}" % ctx.inp("language")) if ctx.maybe_input("language")
                      else rng.choice(LANGS)))
        if ctx.maybe_input("threshold", 0.5):
            p.append(("neutral_threshold", q("{{%s}}" % ctx.inp("threshold"))))
        elif rng.random() < 0.2:
            p.append(("neutral_threshold", "0.%d" % rng.randint(3, 7)))
    elif method == "nlp.entities.extract":
        if rng.random() < 0.6:
            p.append(("types", flow_list(rng.sample(ENTITY_TYPES, rng.randint(1, 3)))))
        if ctx.maybe_input("threshold", 0.4):
            p.append(("min_confidence", q("{{%s}}" % ctx.inp("threshold"))))
    elif method == "nlp.summary.generate":
        if rng.random() < 0.6:
            p.append(("max_words", str(rng.choice([50, 120, 200, 400]))))
        if rng.random() < 0.6:
            p.append(("style", rng.choice(["paragraph", "bullets", "headline"])))
        if rng.random() < 0.5:
            c = count_ref(ctx)
            if c is not None:
                p.append(("focus", q("Main themes across {{%s}} items" % c)))
            elif "query" in ctx.avail:
                p.append(("focus", q("What is said about {{%s}}" % ctx.inp("query"))))
        if rng.random() < 0.2:
            p.append(("language", rng.choice(LANGS)))
    elif method == "nlp.translation.translate":
        p.append(("target_language", rng.choice(LANGS)))
        if rng.random() < 0.3:
            p.append(("formality", rng.choice(["default", "formal", "informal"])))
    elif method == "nlp.keywords.extract":
        if rng.random() < 0.6:
            p.append(("max_keywords", str(rng.choice([10, 20, 50]))))
        if rng.random() < 0.3:
            p.append(("max_phrase_words", str(rng.randint(1, 4))))
    elif method == "ml.topics.cluster":
        if rng.random() < 0.7:
            p.append(("num_topics", str(rng.choice([4, 8, 12, 20]))))
        if rng.random() < 0.3:
            p.append(("keywords_per_topic", str(rng.choice([5, 8, 10]))))
    return p


def choose_transform(ctx):
    """(method, kind of its main parameter, preferred step): read the oldest unused source first."""
    rng = ctx.rng
    if ctx.unused_sources:
        prefer = ctx.unused_sources[0]
        offers = OFFERS[dict(ctx.steps)[prefer]]
        options = [(m, k) for m in TRANSFORM_METHODS for k in CONSUMES[m] if k in offers]
        m, k = rng.choice(options)
        return m, k, prefer
    while True:
        m = rng.choice(TRANSFORM_METHODS)
        k = rng.choice(CONSUMES[m])
        if ctx.candidates(k):
            return m, k, None


# ------------------------------------------------------------------------------------------------ emitting

def duration(rng):
    return rng.choice(["30s", "45s", "1m", "2m", "5m", "90s", "500ms", "1.5m", "1h"])


def step_lines(step):
    """The YAML lines of one step (a list item at 2-space indent); every random choice is already in `step`.

    step: dict with name, method (None to leave it out), params (list of (key, yaml), or a YAML text), style
    (flow or block), and optional desc (text), timeout, retry (lines), extra (a (key, yaml) pair)."""
    out = []
    if step.get("comment"):
        out.append("  # " + step["comment"])
    out.append("  - name: %s" % step["name"])
    if step.get("desc"):
        out.append("    description: %s" % step["desc"])
    if step["method"] is not None:
        out.append("    method: %s" % step["method"])
    params = step["params"]
    if isinstance(params, str):
        out.append("    params: %s" % params)
    elif step["style"] == "flow":
        out.append("    params: {" + ", ".join("%s: %s" % kv for kv in params) + "}")
    else:
        out.append("    params:")
        for k, v in params:
            out.append("      %s: %s" % (k, v))
    if step.get("timeout"):
        out.append("    timeout: %s" % step["timeout"])
    out.extend(step.get("retry") or [])
    if step.get("extra"):
        out.append("    %s: %s" % step["extra"])
    return out


def retry_lines(rng):
    attempts = rng.randint(2, 6)
    if rng.random() < 0.5:
        return ["    retry: {max_attempts: %d, initial_interval: %s}" % (attempts, rng.choice(["500ms", "1s", "2s"]))]
    out = ["    retry:", "      max_attempts: %d" % attempts]
    if rng.random() < 0.5:
        out.append("      backoff_coefficient: %s" % rng.choice(["1.5", "2.0", "3"]))
    out.append("      maximum_interval: %s" % rng.choice(["20s", "1m", "2m"]))
    return out


def input_decls(rng):
    """How each possible input is written, decided up front (only the used ones are emitted)."""
    decls = {}
    for name in sorted(INPUTS):
        typ, default, desc = INPUTS[name]
        if default is None:
            default = {"query": q(rng.choice(TOPICS)), "limit": str(rng.choice([10, 50, 100])),
                       "page_url": q(rng.choice(PAGES)), "feed_url": q(rng.choice(FEEDS))}[name]
        r = rng.random()
        if r < 0.45:
            lines = ["  %s: {type: %s, default: %s}" % (name, typ, default)]
        elif r < 0.9:
            lines = ["  %s:" % name, "    type: %s" % typ]
            if rng.random() < 0.6:
                lines.append("    description: %s" % desc)
            lines.append("    default: %s" % default)
        else:
            lines = ["  %s:" % name, "    type: %s" % typ, "    description: %s" % q(desc), "    required: true"]
        decls[name] = lines
    return decls


def inputs_lines(decls, used):
    if not used:
        return []
    out = ["inputs:"]
    for name in used:
        out.extend(decls[name])
    return out


def make_step(ctx, section, name, style, desc_p=0.3, desc_words=(6, 14)):
    rng = ctx.rng
    if section == "source":
        m = rng.choices(SOURCE_METHODS, SOURCE_WEIGHTS)[0]
        params = source_params(ctx, m)
    else:
        m, kind, prefer = choose_transform(ctx)
        params = transform_params(ctx, m, kind, prefer)
    desc = None
    if rng.random() < desc_p:
        d = sentence(rng, *desc_words)
        desc = q(d) if rng.random() < 0.5 else d
    step = {"name": name, "method": m, "params": params, "style": style, "desc": desc,
            "timeout": duration(rng) if rng.random() < 0.3 else None,
            "retry": retry_lines(rng) if rng.random() < 0.12 else None}
    ctx.steps.append((name, m))
    if section == "source":
        ctx.unused_sources.append(name)
    return step


# ------------------------------------------------------------------------------------------------ big file

def gen_big(rng, target_lines):
    ctx = Ctx(rng, set(INPUTS), window=200)
    decls = input_decls(rng)
    style = lambda: "flow" if rng.random() < 0.5 else "block"  # noqa: E731
    # About 30% sources, 70% transforms; estimate the step count from ~6 lines a step.
    n_sources = max(1, int(target_lines / 6.0 * 0.3))
    sources = [make_step(ctx, "source", "step_%d" % i, style(), 0.9, (14, 28)) for i in range(n_sources)]
    transforms = []
    head = ["# A generated pipeline for language-server and checker benchmarks (tests/bench/gen_corpus.py).",
            "name: big investigation",
            "description: Synthetic large pipeline used for language-server latency benchmarks"]
    lines = len(head) + len(inputs_lines(decls, list(INPUTS))) + 2 + sum(len(step_lines(s)) for s in sources)
    i = n_sources
    while True:
        s = make_step(ctx, "transform", "step_%d" % i, style(), 0.9, (14, 28))
        if rng.random() < 0.08:
            s["comment"] = "stage %d: %s" % (i, sentence(rng, 6, 10).lower())
        n = len(step_lines(s))
        if lines + n > target_lines and not ctx.unused_sources:
            ctx.steps.pop()
            break
        transforms.append(s)
        lines += n
        i += 1
    out = head + inputs_lines(decls, ctx.used_inputs) + ["sources:"]
    for s in sources:
        out += step_lines(s)
    out.append("transforms:")
    for s in transforms:
        out += step_lines(s)
    # The `method:` line closest to the middle: the LSP benchmark edits and completes there.
    mid = len(out) // 2
    method_line = None
    for d in range(0, len(out)):
        for ln in (mid + d, mid - d):
            if 0 <= ln < len(out) and out[ln].startswith("    method: "):
                method_line = ln
                break
        if method_line is not None:
            break
    targets = {"method_line": method_line, "method_col": len("    method: "),
               "method_value": out[method_line][len("    method: "):]}
    text = "\n".join(out) + "\n"
    return text, len(out), len(sources) + len(transforms), targets


# ------------------------------------------------------------------------------------------------ small files

# Structural mistakes that both odp and a validator of schemas/pipeline.schema.json must report.
INVALID_KINDS = ["unknown_top_key", "extra_step_key", "missing_method", "timeout_no_unit", "short_name",
                 "params_not_object", "dashed_step_name", "bad_method"]


def gen_small(rng, idx, invalid_kind=None):
    target = rng.randint(29, 57)
    avail = set(rng.sample(sorted(INPUTS), rng.randint(0, 6)))
    if rng.random() < 0.8:
        avail.add("query")
    ctx = Ctx(rng, avail)
    decls = input_decls(rng)
    flow_bias = rng.random()
    style = lambda: "flow" if rng.random() < flow_bias else "block"  # noqa: E731
    n = 0

    def name(section):
        nonlocal n
        nm = rng.choice(STEP_PREFIX[section]) + "_%d" % n
        n += 1
        return nm

    head = []
    if rng.random() < 0.3:
        head.append("# generated pipeline %d" % idx)
    title = rng.choice(TOPICS)
    pname = rng.choice(["pipeline-%05d-%s" % (idx, title.replace(" ", "-").lower()), "%s watch %05d" % (title, idx)])
    if invalid_kind == "short_name":
        pname = "p%d" % (idx % 10)  # < 3 characters
    head.append("name: %s" % pname)
    r = rng.random()
    if r < 0.25:
        head.append("description: |")
        for _ in range(rng.randint(2, 4)):
            head.append("  " + sentence(rng))
    elif r < 0.85:
        head.append("description: %s" % q(sentence(rng)))
    if invalid_kind == "unknown_top_key":
        head.append(rng.choice(['schedule: "0 * * * *"', "owner: data-team", "version: 2", "tags: [daily, news]"]))
    blank = [""] if rng.random() < 0.2 else []

    sources = [make_step(ctx, "source", name("source"), style()) for _ in range(rng.randint(1, 3))]
    transforms = []

    def render():
        out = head + inputs_lines(decls, ctx.used_inputs) + ["sources:"]
        for s in sources:
            out += step_lines(s)
        out += blank + ["transforms:"]
        for s in transforms:
            out += step_lines(s)
        return out

    while True:
        transforms.append(make_step(ctx, "transform", name("transform"), style()))
        if ctx.unused_sources:
            continue
        if len(render()) >= target - 3:
            break

    steps = sources + transforms
    if invalid_kind in ("extra_step_key", "missing_method", "timeout_no_unit", "params_not_object", "bad_method"):
        st = rng.choice(steps)
        if invalid_kind == "extra_step_key":
            st["extra"] = rng.choice([("output_fields", "[id, text, url]"), ("retries", "3"),
                                      ("enabled", "true"), ("depends_on", "[%s]" % steps[0]["name"])])
        elif invalid_kind == "missing_method":
            st["method"] = None
        elif invalid_kind == "timeout_no_unit":
            st["timeout"] = str(rng.choice([30, 60, 120]))
        elif invalid_kind == "params_not_object":
            # A step whose params hold no template, so no input or source loses its only reader.
            literal = [s for s in steps if not any("{{" in v for _, v in s["params"])]
            if not literal:
                return None
            st = rng.choice(literal)
            st["params"] = rng.choice(["[a]", "none", "[%s]" % st["params"][0][0]])
        else:
            st["method"] = st["method"].rsplit(".", 1)[0]  # two segments
    elif invalid_kind == "dashed_step_name":
        # A step no template references, so the only finding is the name itself.
        st = rng.choice([s for s in steps if s["name"] not in ctx.referenced])
        st["name"] = st["name"].replace("_", "-")
    return "\n".join(render()) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--big-lines", type=int, default=20000)
    ap.add_argument("--small-count", type=int, default=10000)
    ap.add_argument("--invalid-fraction", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    big_dir = os.path.join(a.out_dir, "big")
    small_dir = os.path.join(a.out_dir, "small")
    os.makedirs(big_dir, exist_ok=True)
    os.makedirs(small_dir, exist_ok=True)

    text, nlines, nsteps, targets = gen_big(rng, a.big_lines)
    big_path = os.path.join(big_dir, "big_pipeline.odp.yaml")
    with open(big_path, "w") as f:
        f.write(text)

    invalid = []
    total_bytes = total_lines = 0
    min_lines, max_lines = 1 << 30, 0
    for idx in range(a.small_count):
        kind = None
        if rng.random() < a.invalid_fraction:
            kind = INVALID_KINDS[len(invalid) % len(INVALID_KINDS)]
        s = gen_small(rng, idx, kind)
        while s is None:  # the seeded error did not fit this pipeline: draw another
            s = gen_small(rng, idx, kind)
        fn = "pipeline_%05d.odp.yaml" % idx
        if kind:
            invalid.append("%s\t%s" % (fn, kind))
        with open(os.path.join(small_dir, fn), "w") as f:
            f.write(s)
        total_bytes += len(s.encode())
        nl = s.count("\n")
        total_lines += nl
        min_lines, max_lines = min(min_lines, nl), max(max_lines, nl)
    with open(os.path.join(small_dir, "INVALID.txt"), "w") as f:
        f.write("\n".join(invalid) + ("\n" if invalid else ""))

    manifest = {
        "seed": a.seed,
        "generator": "tests/bench/gen_corpus.py",
        "big": {"path": os.path.abspath(big_path), "lines": nlines, "bytes": len(text.encode()),
                "steps": nsteps, **targets},
        "small": {"dir": os.path.abspath(small_dir), "count": a.small_count,
                  "total_lines": total_lines, "total_bytes": total_bytes,
                  "min_lines": min_lines, "max_lines": max_lines,
                  "invalid": len(invalid), "invalid_kinds": INVALID_KINDS, "methods": ALL_METHODS},
    }
    with open(os.path.join(a.out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    json.dump(manifest, sys.stdout)
    print()


if __name__ == "__main__":
    main()
