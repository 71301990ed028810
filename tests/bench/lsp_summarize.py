#!/usr/bin/env python3
"""Summarize the raw lsp_latency.py lines of tests/bench/lsp_bench.sh: one JSON line per (server, file, edit) with the
median over the runs, then one line of ratios (yaml-language-server / odp) per file and one line with odp's targets.

Usage: lsp_summarize.py RAW.jsonl
"""
import json
import statistics
import sys

TARGETS = {"edit_p50_ms": 10.0, "completion_p99_ms": 5.0, "peak_rss_mb": 60.0}


def med(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 2) if xs else None


def get(r, *path):
    for p in path:
        if not isinstance(r, dict) or p not in r:
            return None
        r = r[p]
    return r


def summarize(label, runs):
    s = {"label": label, "runs": len(runs), "server": get(runs[0], "server_info", "name"),
         "server_version": get(runs[0], "server_info", "version"), "file": runs[0]["file"],
         "lines": runs[0]["lines"], "bytes": runs[0]["bytes"], "edit": runs[0]["edit_kind"],
         "edit_token": get(runs[0], "edit", "token"), "sync": runs[0].get("sync"),
         "init_ms": med([r["init_s"] * 1000 for r in runs]),
         "first_diag_ms": med([r["first_diag_ms"] for r in runs]),
         "first_diag_count": sorted({r["first_diag_count"] for r in runs}),
         "edit_p50_ms": med([get(r, "edits", "latency_to_expected_ms", "p50") for r in runs]),
         "edit_p90_ms": med([get(r, "edits", "latency_to_expected_ms", "p90") for r in runs]),
         "edit_max_ms": med([get(r, "edits", "latency_to_expected_ms", "max") for r in runs]),
         "edit_max_ms_all_runs": max(get(r, "edits", "latency_to_expected_ms", "max") or 0 for r in runs),
         "edits_matched": [get(r, "edits", "matched_expectation") for r in runs],
         "stale_publishes": sum(get(r, "edits", "stale_publishes") or 0 for r in runs),
         "publishes_without_version": sum(get(r, "edits", "publishes_without_version") or 0 for r in runs),
         "invalid_message": (get(runs[0], "edits", "invalid_messages") or [None])[0],
         "peak_rss_mb": med([r["peak_rss_kb"] / 1024 for r in runs]),
         "peak_rss_mb_range": [round(min(r["peak_rss_kb"] for r in runs) / 1024, 1),
                               round(max(r["peak_rss_kb"] for r in runs) / 1024, 1)],
         "rss_after_open_mb": med([r["rss_after_open_kb"] / 1024 for r in runs]),
         "cpu_s": med([r.get("cpu_s") for r in runs]),
         "completion": {}}
    s["valid"] = (all(m.split("/")[0] == m.split("/")[1] for m in s["edits_matched"])
                  and s["first_diag_count"] == [0])
    for kind in runs[0].get("completion", {}):
        cs = [r["completion"][kind] for r in runs]
        s["completion"][kind] = {"p50_ms": med([c["p50"] for c in cs]), "p90_ms": med([c["p90"] for c in cs]),
                                 "p99_ms": med([c["p99"] for c in cs]), "max_ms": med([c["max"] for c in cs]),
                                 "items": sorted({c["items"] for c in cs}),
                                 "expected_label_offered": all(c["expected_label_offered"] for c in cs),
                                 "expected_label": cs[0]["expected_label"]}
    s["valid"] = s["valid"] and all(c["expected_label_offered"] and c["items"] != [0]
                                    for c in s["completion"].values())
    return s


def ratio(a, b):
    return round(a / b, 1) if a is not None and b else None


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
    groups = {}
    for r in rows:
        groups.setdefault(r["label"], []).append(r)
    sums = {label: summarize(label, runs) for label, runs in groups.items()}
    for s in sums.values():
        print(json.dumps(s))
        if not s["valid"]:
            print("%s: the runs did not all see the expected diagnostics and completions" % s["label"],
                  file=sys.stderr)
    # Ratios: yaml-language-server over odp, on the same file; `same_edit` pairs the key typo with the key typo.
    for size in ("big", "typical"):
        yls = sums.get("yls-%s-key-typo" % size)
        for edit in ("key-typo", "method-typo"):
            odp = sums.get("odp-%s-%s" % (size, edit))
            if not (yls and odp):
                continue
            out = {"ratios": "yaml-language-server / odp", "file": size, "odp_edit": edit, "yls_edit": "key-typo",
                   "first_diag": ratio(yls["first_diag_ms"], odp["first_diag_ms"]),
                   "edit_p50": ratio(yls["edit_p50_ms"], odp["edit_p50_ms"]),
                   "edit_p90": ratio(yls["edit_p90_ms"], odp["edit_p90_ms"]),
                   "edit_max": ratio(yls["edit_max_ms"], odp["edit_max_ms"]),
                   "peak_rss": ratio(yls["peak_rss_mb"], odp["peak_rss_mb"])}
            if "method" in yls["completion"] and "method" in odp["completion"]:
                out["completion_method_p50"] = ratio(yls["completion"]["method"]["p50_ms"],
                                                     odp["completion"]["method"]["p50_ms"])
                out["completion_method_p99"] = ratio(yls["completion"]["method"]["p99_ms"],
                                                     odp["completion"]["method"]["p99_ms"])
            print(json.dumps(out))
    for label in ("odp-big-method-typo", "odp-big-key-typo"):
        odp = sums.get(label)
        if not odp:
            continue
        worst_completion = max(c["p99_ms"] for c in odp["completion"].values()) if odp["completion"] else None
        print(json.dumps({"targets": label,
                          "edit_p50_ms": [odp["edit_p50_ms"], TARGETS["edit_p50_ms"],
                                          odp["edit_p50_ms"] <= TARGETS["edit_p50_ms"]],
                          "completion_p99_ms": [worst_completion, TARGETS["completion_p99_ms"],
                                                worst_completion is not None
                                                and worst_completion <= TARGETS["completion_p99_ms"]],
                          "peak_rss_mb": [odp["peak_rss_mb"], TARGETS["peak_rss_mb"],
                                          odp["peak_rss_mb"] <= TARGETS["peak_rss_mb"]]}))
    return 0 if all(s["valid"] for s in sums.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
