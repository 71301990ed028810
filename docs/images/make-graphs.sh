#!/usr/bin/env bash
# The pipeline pictures in docs/images/: `odp graph --format svg` of every example (and of one broken example), and a
# screenshot of one in headless Chromium (Debian's /usr/bin/chromium, which `bash tests/run.sh` installs). Run by hand
# from the repository root (CI never rewrites these files); look at the PNG before committing:
#
#     bash docs/images/make-graphs.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q -p odp
odp="${CARGO_TARGET_DIR:-target}/debug/odp"
out=docs/images
for file in examples/*.odp.yaml examples/broken/two-mistakes.odp.yaml; do
  name=$(basename "$file" .odp.yaml)
  # Exit 1 is a pipeline with errors, drawn with them marked (the broken example).
  "$odp" graph "$file" -o "$out/graph-$name.svg" || [ $? -eq 1 ]
done
shot=graph-brand-monitoring
size=$(sed -nE '1s/.* width="([0-9]+)" height="([0-9]+)".*/\1,\2/p' "$out/$shot.svg")
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --disable-background-networking \
  --disable-component-update --no-first-run --disable-sync --force-device-scale-factor=1 \
  --window-size="$size" --screenshot="$out/$shot.png" "file://$PWD/$out/$shot.svg" 2>/dev/null
echo "wrote $out/graph-*.svg and $out/$shot.png ($size)"
