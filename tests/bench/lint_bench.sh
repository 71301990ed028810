#!/usr/bin/env bash
# Linting 10,000 small pipelines: `odp-lsp check` against `check-jsonschema` with schemas/pipeline.schema.json,
# on the same files in the same run (BENCHMARKS.md, "Linting 10,000 small pipelines against check-jsonschema").
# Not part of CI.
#
#   bash tests/bench/lint_bench.sh            # RUNS=3 timed runs per tool after one warm-up run
#
# Needs python3 (with venv), cargo, and the shared measuring scripts in ../shared/measure beside the clone
# (MEASURE=DIR to point elsewhere). Installs and generates under ${SCRATCH:-$HOME/.cache/odp-bench} only:
#   venv-cj-<version>/  check-jsonschema, pinned
#   corpus/             tests/bench/gen_corpus.py --seed 1 (regenerated when the generator changes)
#   results/lint/       raw JSON of every measurement and the tools' output
# ODP_LSP=PATH measures that odp-lsp binary instead of building one; RUNS, SEED, MEASURE, SCRATCH as named.
# Prints one summary JSON line per tool on stdout (wall, CPU, peak RSS, files/s, whether the tool flagged exactly
# the seeded invalid files, single-file startup when hyperfine is installed); progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/bench
MEASURE=${MEASURE:-$ROOT/../shared/measure}
SCRATCH=${SCRATCH:-$HOME/.cache/odp-bench}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
CJ_VERSION=0.39.0
VENV=$SCRATCH/venv-cj-$CJ_VERSION
CORPUS=$SCRATCH/corpus
RESULTS=$SCRATCH/results/lint
SCHEMA=$ROOT/schemas/pipeline.schema.json
say() { printf '== %s\n' "$*" >&2; }

[ -f "$MEASURE/batch_cli.py" ] || { echo "batch_cli.py not found in $MEASURE (set MEASURE=DIR)" >&2; exit 2; }
mkdir -p "$SCRATCH" "$RESULTS"

# 1. check-jsonschema, pinned, in its own venv.
if [ "$("$VENV/bin/check-jsonschema" --version 2>/dev/null | awk '{print $NF}')" != "$CJ_VERSION" ]; then
  say "installing check-jsonschema==$CJ_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "check-jsonschema==$CJ_VERSION"
fi

# 2. The corpus: generated once per generator version and seed.
stamp="$(sha256sum "$HERE/gen_corpus.py" | cut -c1-16) seed=$SEED"
if [ ! -f "$CORPUS/manifest.json" ] || [ "$(cat "$CORPUS/.stamp" 2>/dev/null)" != "$stamp" ]; then
  say "generating the corpus in $CORPUS"
  rm -rf "$CORPUS"
  python3 "$HERE/gen_corpus.py" "$CORPUS" --seed "$SEED" >/dev/null
  echo "$stamp" >"$CORPUS/.stamp"
fi

# 3. odp-lsp, release build (ODP_LSP=PATH: measure that binary instead, without building).
if [ -n "${ODP_LSP:-}" ]; then
  ODP=$ODP_LSP
else
  say "building odp-lsp (release)"
  (cd "$ROOT" && cargo build -q --release -p odp-lsp)
  TARGET=${CARGO_TARGET_DIR:-target}
  case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
  ODP=$TARGET/release/odp-lsp
fi

ODP_VERSION="$("$ODP" --version | awk '{print $NF}') ($(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.lock 2>/dev/null || echo '+dirty'))"
CJ_VERSIONS="$("$VENV/bin/python" - <<'EOF'
import importlib.metadata as m, platform
print("check-jsonschema %s (jsonschema %s, ruamel.yaml %s), Python %s" % (
    m.version("check-jsonschema"), m.version("jsonschema"), m.version("ruamel.yaml"), platform.python_version()))
EOF
)"
say "odp-lsp $ODP_VERSION; $CJ_VERSIONS"
# Other work on the machine inflates wall times (CPU times much less): report the load around the runs.
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# 4. Both tools on the same 10,000 files, all names on one command line (cwd = small/), same run.
#    odp-lsp would walk the directory with `odp-lsp check .`; both get explicit file names here.
SMALL=$CORPUS/small
say "odp-lsp check: $RUNS runs"
python3 "$MEASURE/batch_cli.py" --files "$SMALL" --pattern '*.odp.yaml' --runs "$RUNS" --warmup 1 --label odp-lsp \
  --keep-output "$RESULTS/odp-lsp_10k.out" -- "$ODP" check --color never >"$RESULTS/odp-lsp_10k.json"
say "check-jsonschema: $RUNS runs (about a minute each)"
python3 "$MEASURE/batch_cli.py" --files "$SMALL" --pattern '*.odp.yaml' --runs "$RUNS" --warmup 1 \
  --label check-jsonschema --keep-output "$RESULTS/check-jsonschema_10k.out" \
  -- "$VENV/bin/check-jsonschema" --schemafile "$SCHEMA" >"$RESULTS/check-jsonschema_10k.json"

# 5. Startup: one valid file, both tools in one hyperfine run.
HF=()
if command -v hyperfine >/dev/null; then
  say "hyperfine: single-file startup"
  (cd "$SMALL" && hyperfine -N -i --warmup 2 --runs 10 --export-json "$RESULTS/startup_1file.json" \
    "$ODP check --color never pipeline_00000.odp.yaml" \
    "$VENV/bin/check-jsonschema --schemafile $SCHEMA pipeline_00000.odp.yaml" >&2)
  HF=(--hyperfine "$RESULTS/startup_1file.json")
else
  say "hyperfine not installed: no startup figures (apt-get install hyperfine)"
fi

say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# 6. One summary line per tool.
python3 "$HERE/summarize.py" --tool odp-lsp --version "odp-lsp $ODP_VERSION" --kind odp \
  --batch "$RESULTS/odp-lsp_10k.json" --output "$RESULTS/odp-lsp_10k.out" --invalid "$SMALL/INVALID.txt" \
  ${HF[@]+"${HF[@]}"} --hyperfine-index 0 | tee "$RESULTS/summary_odp-lsp.json"
python3 "$HERE/summarize.py" --tool check-jsonschema --version "$CJ_VERSIONS" --kind jsonschema \
  --batch "$RESULTS/check-jsonschema_10k.json" --output "$RESULTS/check-jsonschema_10k.out" \
  --invalid "$SMALL/INVALID.txt" ${HF[@]+"${HF[@]}"} --hyperfine-index 1 | tee "$RESULTS/summary_check-jsonschema.json"
python3 - "$RESULTS/summary_odp-lsp.json" "$RESULTS/summary_check-jsonschema.json" >&2 <<'EOF'
import json, sys
o, c = (json.load(open(p)) for p in sys.argv[1:3])
print("== wall: odp-lsp %.3f s, check-jsonschema %.1f s: %.0fx; CPU %.0fx; results in %s" % (
    o["median_wall_s"], c["median_wall_s"], c["median_wall_s"] / o["median_wall_s"],
    c["median_cpu_s"] / max(o["median_cpu_s"], 1e-9), sys.argv[1].rsplit("/", 1)[0]))
EOF
