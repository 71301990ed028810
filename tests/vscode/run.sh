#!/usr/bin/env bash
# The VS Code end-to-end suite: installs the real client when missing (tests/vscode/install.sh, cached outside the
# clone), builds the debug odp-lsp and odp, packages the extension, and runs tests/vscode/e2e.test.mjs with node's
# test runner (its closing lines "ℹ pass N" / "ℹ fail N" are what tests/run.sh counts).
#
#   bash tests/vscode/run.sh [node --test options]
#   bash tests/vscode/run.sh --screenshots [NAME...]  # remakes docs/images/vscode-*.png (by hand; look at them)
#
# Screenshots of failed scenarios: $ODP_E2E_ARTEFACTS (default target/vscode-e2e/, ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."

clients=$(bash tests/vscode/install.sh)
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build -q -p odp-lsp -p odp
export ODP_CLIENTS_DIR="$clients"
export ODP_LSP="$target/debug/odp-lsp"
export ODP_BIN="$target/debug/odp"
export ODP_E2E_ARTEFACTS="${ODP_E2E_ARTEFACTS:-$PWD/target/vscode-e2e}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd editors/vscode
  [ -d node_modules ] || npm ci --no-audit --no-fund >&2
  npm run -s bundle >&2
  npx vsce package --no-dependencies --out "$work/odp.vsix" >&2
)
export ODP_VSIX="$work/odp.vsix"
if [ "${1:-}" = "--screenshots" ]; then
  # The README's pictures (docs/images/vscode-*.png), made by hand, never by CI.
  node tests/vscode/screenshots.mjs "${@:2}"
else
  node --test --test-reporter=spec --test-concurrency=1 "$@" tests/vscode/e2e.test.mjs
fi
