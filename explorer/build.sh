#!/usr/bin/env bash
# Installs the browser packages pinned in explorer/package-lock.json from the npm registry and
# copies the few browser-ready files the explorer and the demo's live dashboard load into
# app/static/graphiql/, which bizgraph serves at /graphiql-assets/ (see app/http/graphiql.py and
# app/http/dashboard.py). Nothing here is committed: both
# explorer/node_modules/ and app/static/graphiql/ are git-ignored.
#
# Idempotent: a stamp records package.json, the lock file and this script; when it matches and
# every file is present, the script exits at once without touching npm. With --check it only says
# so: exit status 0 when the assets are current, 1 when a build is due (scripts/install asks).
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=app/static/graphiql
STAMP="$DEST/.build-stamp"

# Paths inside node_modules/, copied to the same relative path under $DEST. Keep in step with
# ASSETS in app/http/graphiql.py and app/http/dashboard.py (tests/http/test_graphiql_browser.py
# checks that they agree).
FILES=(
  react/umd/react.production.min.js
  react-dom/umd/react-dom.production.min.js
  graphiql/graphiql.min.js
  graphiql/graphiql.min.css
  @graphiql/plugin-explorer/dist/index.umd.js
  @graphiql/plugin-explorer/dist/style.css
  graphql-ws/umd/graphql-ws.min.js
  chart.js/dist/chart.umd.min.js
)

# The stamp covers the inputs that decide what gets copied (the lock file only once there is one).
inputs=(explorer/package.json explorer/build.sh)
[ -f explorer/package-lock.json ] && inputs+=(explorer/package-lock.json)
stamp=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)

built=1
[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp" ] || built=0
for f in "${FILES[@]}"; do
  [ -f "$DEST/$f" ] || built=0
done
if [ "${1:-}" = --check ]; then
  [ "$built" = 1 ]
  exit
fi
if [ "$built" = 1 ]; then
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "explorer/build.sh: npm not found; GraphiQL will load its assets from a CDN" >&2
  exit 1
fi

# npm prints its summary on stdout (dropped) and problems on stderr (kept).
# --ignore-scripts: none of these packages needs an install script, so none gets to run one.
npm_flags=(--no-audit --no-fund --ignore-scripts --loglevel=error)
if [ -f explorer/package-lock.json ]; then
  (cd explorer && npm ci "${npm_flags[@]}" >/dev/null)
else
  (cd explorer && npm install "${npm_flags[@]}" >/dev/null)
fi

# Assemble the new tree aside and swap it in, so a running server never sees a half-copied
# directory. It is built under node_modules/ (git-ignored, same file system as $DEST) so that
# even a killed run leaves nothing for git to see.
mkdir -p "$(dirname "$DEST")"
tmp=$(mktemp -d explorer/node_modules/.graphiql-assets.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for f in "${FILES[@]}"; do
  mkdir -p "$tmp/$(dirname "$f")"
  cp "explorer/node_modules/$f" "$tmp/$f"
done
echo "$stamp" >"$tmp/.build-stamp"
chmod 755 "$tmp"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
echo "explorer/build.sh: GraphiQL assets installed in $DEST (and the dashboard's)"
