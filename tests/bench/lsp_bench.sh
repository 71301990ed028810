#!/usr/bin/env bash
# The language server on a 20,000-line pipeline: `odp-lsp --stdio` against yaml-language-server with
# schemas/pipeline.schema.json, on the same files with the same edits, in the same run (BENCHMARKS.md,
# "Language server against yaml-language-server"). Not part of CI.
#
#   bash tests/bench/lsp_bench.sh             # RUNS=3 runs per server and case
#
# Needs python3, node/npm and cargo. Installs and generates under ${SCRATCH:-$HOME/.cache/odp-bench} only:
#   yls-<version>/       yaml-language-server, pinned (npm, --prefix)
#   lsp/big.odp.yaml     tests/bench/lsp_corpus.py --lines 20000 (valid: 0 diagnostics from odp-lsp check)
#   lsp/typical.odp.yaml tests/bench/lsp_corpus.py --lines 300
#   results/lsp-<date>/  raw.jsonl (one lsp_latency.py line per run), summary.jsonl, servers' stderr
# ODP_LSP=PATH measures that odp-lsp binary instead of building one; RUNS, SCRATCH, YLS_VERSION as named.
#
# Cases, each run RUNS times, servers interleaved (odp, yaml-language-server, odp, ...):
#   odp-big-method-typo  odp, big file: a method id toggles between valid and a typo (1 vs 0 diagnostics; the
#                        publish must carry the edited version); completions after `method: ` and after `[*].`
#   odp-big-key-typo     odp, big file: the step key `timeout` toggles with `timeot` (the yaml-language-server edit)
#   yls-big-key-typo     yaml-language-server, big file, the same key edit; completion after `method: `
#   odp-typical-*, yls-typical-key-typo: the same on a 341-line pipeline
# Prints one summary JSON line per case, the ratios (yaml-language-server / odp) and odp's targets on stdout;
# progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/bench
SCRATCH=${SCRATCH:-$HOME/.cache/odp-bench}
RUNS=${RUNS:-3}
YLS_VERSION=${YLS_VERSION:-1.25.0}
YLS_DIR=$SCRATCH/yls-$YLS_VERSION
YLS=$YLS_DIR/node_modules/yaml-language-server/bin/yaml-language-server
SCHEMA=$ROOT/schemas/pipeline.schema.json
FILES=$SCRATCH/lsp
OUT=$SCRATCH/results/lsp-$(date -u +%Y%m%dT%H%M%SZ)
say() { printf '== %s\n' "$*" >&2; }

mkdir -p "$SCRATCH" "$FILES" "$OUT"

# 1. yaml-language-server, pinned.
installed=$(node -p "require('$YLS_DIR/node_modules/yaml-language-server/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$YLS_VERSION" ]; then
  say "installing yaml-language-server@$YLS_VERSION into $YLS_DIR"
  mkdir -p "$YLS_DIR"
  npm install --prefix "$YLS_DIR" --no-audit --no-fund --loglevel=error "yaml-language-server@$YLS_VERSION" >&2
fi

# 2. odp-lsp, release build (ODP_LSP=PATH: measure that binary instead, without building).
if [ -n "${ODP_LSP:-}" ]; then
  BIN=$ODP_LSP
else
  say "building odp-lsp (release)"
  (cd "$ROOT" && cargo build --release -q -p odp-lsp)
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/odp-lsp
fi

# 3. The pipelines, checked: odp-lsp must find nothing in them.
python3 "$HERE/lsp_corpus.py" "$FILES/big.odp.yaml" --lines 20000 >&2
python3 "$HERE/lsp_corpus.py" "$FILES/typical.odp.yaml" --lines 300 >&2
"$BIN" check --format json "$FILES/big.odp.yaml" "$FILES/typical.odp.yaml" >"$OUT/check.json" || {
  echo "the generated pipelines are not clean: see $OUT/check.json" >&2; exit 1; }
python3 - "$OUT/check.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
if s["errors"] or s["warnings"]:
    sys.exit("the generated pipelines have diagnostics: %s" % s)
EOF

# 4. Versions and machine.
python3 - "$BIN" "$YLS_DIR" "$ROOT" >"$OUT/meta.json" <<'EOF'
import json, os, platform, subprocess, sys
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return None
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), None)
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
yls = json.load(open(os.path.join(sys.argv[2], "node_modules/yaml-language-server/package.json")))["version"]
print(json.dumps({"meta": "lsp_bench", "odp_lsp": out(sys.argv[1], "--version"),
                  "commit": out("git", "-C", sys.argv[3], "describe", "--always", "--dirty"),
                  "rustc": out("rustc", "--version"),
                  "yaml_language_server": yls, "node": out("node", "--version"), "python": platform.python_version(),
                  "cpu": cpu, "cpus": os.cpu_count(), "mem_gib": round(int(mem) / 1048576, 1),
                  "kernel": platform.release(), "loadavg_at_start": os.getloadavg()}))
EOF
cat "$OUT/meta.json"

# 5. The runs.
lat() { python3 "$HERE/lsp_latency.py" --schema "$SCHEMA" --expect-base 0 "$@"; }
odp() {  # label file edit
  lat --label "odp-$1-$2" --file "$FILES/$1.odp.yaml" --edit "$2" --require-version \
    --complete method --complete template --server-stderr "$OUT/odp-$1-$2.stderr" -- "$BIN" --stdio
}
yls() {  # label file
  lat --label "yls-$1-key-typo" --file "$FILES/$1.odp.yaml" --edit key-typo --complete method \
    --server-stderr "$OUT/yls-$1.stderr" -- node "$YLS" --stdio
}
for run in $(seq 1 "$RUNS"); do
  for size in big typical; do
    say "run $run/$RUNS, $size: odp (method typo)"
    odp "$size" method-typo >>"$OUT/raw.jsonl"
    say "run $run/$RUNS, $size: yaml-language-server (key typo)"
    yls "$size" >>"$OUT/raw.jsonl"
    say "run $run/$RUNS, $size: odp (key typo)"
    odp "$size" key-typo >>"$OUT/raw.jsonl"
  done
done

python3 "$HERE/lsp_summarize.py" "$OUT/raw.jsonl" | tee "$OUT/summary.jsonl"
say "raw results in $OUT"
