#!/usr/bin/env python3
"""Generate a valid ODP pipeline of about --lines lines for the language-server benchmark (tests/bench/lsp_bench.sh).

Usage:
  lsp_corpus.py OUT.odp.yaml [--lines 20000]

The pipeline is valid against the bundled registry (crates/odp-analysis/registry/default.registry.yaml) and the
JSON schema schemas/pipeline.schema.json: `odp-lsp check` reports nothing, and yaml-language-server reports nothing
either. It repeats one block of 6 sources and 10 transforms (suffix _K, K = block number) that uses every kind of
value the language has:

- sources with block `params` (interpolated and whole-value templates, enums, lists), block and flow `retry`,
  durations, descriptions, comments;
- transforms whose params are whole-value projections (`"{{tweets_K.results[*].text}}"`), whole lists
  (`"{{tweets_K.results}}"` in a flow list), interpolations of several templates, and a `dynamic` output.

Every template is quoted, every source is used by a transform and every input by a template, so nothing is
reported (no ODP500/ODP501 warnings either). Deterministic: no randomness. Stdlib only.

lsp_latency.py finds its edit and completion positions by pattern, nearest to the middle of the file: a `method:`
value (method typo), a step's `timeout:` key (key typo), another `method:` value and the `[*].` of a template
(completions).
"""
import argparse
import pathlib

HEADER = """\
# A generated pipeline for the language-server benchmark (tests/bench/lsp_corpus.py).
name: generated language server benchmark
description: Many blocks of sources and transforms that use every kind of template.
inputs:
  query:
    type: string
    description: What to search for.
    default: artificial intelligence
  limit:
    type: integer
    default: 50
  page_url:
    type: string
    default: "https://www.rust-lang.org/"
  feed_url: {{type: string, default: "https://blog.rust-lang.org/feed.xml"}}
"""

SOURCES = """\
  - name: tweets_{k}
    description: Posts of block {k} about the query, reposts left out.
    method: social.twitter.search
    params:
      query: "{{{{inputs.query}}}} -is:reply #{k}"
      limit: "{{{{inputs.limit}}}}"
      language: en
      include_retweets: false
    timeout: 2m
    retry:
      max_attempts: 5
      initial_interval: 2s
      maximum_interval: 30s
  - name: posts_{k}
    method: social.reddit.search
    params:
      query: "{{{{inputs.query}}}}"
      subreddit: MachineLearning
      sort: top
      time_range: week
      limit: 100
    timeout: 1m
    retry: {{max_attempts: 3, backoff_coefficient: 1.5}}
  - name: news_{k}
    method: news.newsapi.search
    params:
      query: "{{{{inputs.query}}}} AND rust"
      language: en
      sort_by: popularity
      domains: [bbc.co.uk, theguardian.com]
      limit: 50
    timeout: 45s
  - name: page_{k}
    method: web.page.fetch
    params:
      url: "{{{{inputs.page_url}}}}"
      render_js: false   # static page
    timeout: 30s
  - name: feed_{k}
    method: web.rss.read
    params:
      feed_url: "{{{{inputs.feed_url}}}}"
      limit: 20
  - name: quotes_{k}
    method: finance.market.quotes
    params:
      symbols: [AAPL, MSFT, SAP.DE]
      range: 5d
      interval: 1d
"""

TRANSFORMS = """\
  - name: mood_{k}
    description: Sentiment of the posts of block {k}.
    method: nlp.sentiment.analyze
    params:
      texts: "{{{{tweets_{k}.results[*].text}}}}"
      language: en
    timeout: 5m
  - name: people_{k}
    method: nlp.entities.extract
    params:
      texts: "{{{{news_{k}.results[*].text}}}}"
      types: [person, organization]
      min_confidence: 0.7
  - name: all_posts_{k}
    method: data.records.merge
    params:
      lists: ["{{{{tweets_{k}.results}}}}", "{{{{posts_{k}.results}}}}"]
      tag_field: origin
  - name: unique_{k}
    method: data.records.dedupe
    params:
      records: "{{{{all_posts_{k}.results}}}}"
      key: url
      strategy: fuzzy
  - name: top_{k}
    method: data.records.sort
    params:
      records: "{{{{unique_{k}.results}}}}"
      field: score
      order: desc
      limit: 10
  - name: topics_{k}
    method: ml.topics.cluster
    params:
      texts: "{{{{posts_{k}.results[*].text}}}}"
      num_topics: 5
  - name: languages_{k}
    method: nlp.language.detect
    params:
      texts: "{{{{feed_{k}.results[*].text}}}}"
  - name: keywords_{k}
    method: nlp.keywords.extract
    params:
      texts: "{{{{top_{k}.results[*].text}}}}"
      max_keywords: 15
  - name: prices_{k}
    method: data.custom.transform
    params:
      input: "{{{{quotes_{k}.results}}}}"
      expression: "map(.price)"
  - name: brief_{k}
    method: nlp.summary.generate
    params:
      text: "{{{{page_{k}.text}}}}"
      texts: "{{{{people_{k}.results[*].text}}}}"
      focus: "{{{{inputs.query}}}}: {{{{mood_{k}.summary.positive}}}} positive, {{{{topics_{k}.topics[0].label}}}}"
      style: bullets
      max_words: 200
    timeout: 3m
"""


def generate(lines):
    header = HEADER.format()
    per_block = SOURCES.count("\n") + TRANSFORMS.count("\n")
    fixed = header.count("\n") + 2  # `sources:` and `transforms:`
    blocks = max(1, round((lines - fixed) / per_block))
    out = [header, "sources:\n"]
    out += [SOURCES.format(k=k) for k in range(blocks)]
    out.append("transforms:\n")
    out += [TRANSFORMS.format(k=k) for k in range(blocks)]
    return "".join(out), blocks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--lines", type=int, default=20000)
    a = ap.parse_args()
    text, blocks = generate(a.lines)
    path = pathlib.Path(a.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print("%s: %d lines, %d bytes, %d blocks, %d steps" % (
        path, text.count("\n"), len(text.encode()), blocks, 16 * blocks))


if __name__ == "__main__":
    main()
