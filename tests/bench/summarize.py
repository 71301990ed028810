#!/usr/bin/env python3
"""One summary JSON line for one tool of the lint benchmark (tests/bench/lint_bench.sh).

Reads the batch_cli.py result (its last stdout line), the output the tool printed in the first timed run
(--keep-output), the corpus's INVALID.txt and, optionally, a hyperfine JSON export for the single-file startup,
and prints: wall/CPU/RSS medians, files/s, and whether the files the tool flagged are exactly the seeded ones.

Which files a tool flagged, from its default text output:
  odp        `error[CODE/name]: ...` followed by `┌─ FILE:LINE:COL` (warnings do not count)
  jsonschema `  FILE::$.json.path: message` (check-jsonschema's text output)

Stdlib only.
"""
import argparse
import json
import os
import re
import statistics

ODP_HEAD = re.compile(r"^(error|warning|info|hint)\[")
ODP_LOC = re.compile(r"^\s*┌─ (.+):\d+:\d+\s*$")
CJ_LINE = re.compile(r"^\s+(\S+?)::\$")


def flagged_odp(text):
    files, sev = set(), None
    for line in text.splitlines():
        m = ODP_HEAD.match(line)
        if m:
            sev = m.group(1)
            continue
        m = ODP_LOC.match(line)
        if m and sev is not None:
            if sev == "error":
                files.add(os.path.basename(m.group(1)))
            sev = None
    return files


def flagged_jsonschema(text):
    return {os.path.basename(m.group(1)) for m in map(CJ_LINE.match, text.splitlines()) if m}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--version", default="")
    ap.add_argument("--kind", choices=["odp", "jsonschema"], required=True)
    ap.add_argument("--batch", required=True, help="file holding batch_cli.py's stdout")
    ap.add_argument("--output", required=True, help="the tool's output (batch_cli.py --keep-output)")
    ap.add_argument("--invalid", required=True, help="the corpus's small/INVALID.txt")
    ap.add_argument("--hyperfine", help="hyperfine --export-json file")
    ap.add_argument("--hyperfine-index", type=int, default=0, help="which command of the export")
    a = ap.parse_args()

    with open(a.batch) as f:
        batch = json.loads(f.read().strip().splitlines()[-1])
    with open(a.output, encoding="utf-8", errors="replace") as f:
        out = f.read()
    with open(a.invalid) as f:
        seeded = {line.split("\t")[0] for line in f if line.strip()}
    flagged = flagged_odp(out) if a.kind == "odp" else flagged_jsonschema(out)
    res = {
        "tool": a.tool,
        "version": a.version,
        "files": batch["files"],
        "bytes": batch["bytes"],
        "batches": sorted({r["batches"] for r in batch["runs"]}),
        "runs_wall_s": [r["wall_s"] for r in batch["runs"]],
        "median_wall_s": batch["median_wall_s"],
        "median_cpu_s": batch["median_cpu_s"],
        "median_peak_rss_kb": batch["median_peak_rss_kb"],
        "files_per_s": batch["files_per_s"],
        "exit_codes": sorted({c for r in batch["runs"] for c in r["rc"]}),
        "seeded_invalid": len(seeded),
        "flagged": len(flagged),
        "missed": sorted(seeded - flagged)[:10],
        "extra": sorted(flagged - seeded)[:10],
        "flagged_exactly_seeded": flagged == seeded,
    }
    if a.hyperfine:
        with open(a.hyperfine) as f:
            h = json.load(f)["results"][a.hyperfine_index]
        res["startup_1file_median_ms"] = round(statistics.median(h["times"]) * 1000, 1)
        res["startup_1file_mean_ms"] = round(h["mean"] * 1000, 1)
        res["startup_1file_runs"] = len(h["times"])
    print(json.dumps(res))


if __name__ == "__main__":
    main()
