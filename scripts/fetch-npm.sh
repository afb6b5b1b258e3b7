#!/usr/bin/env bash
# fetch-npm.sh NAME VERSION: unpacks that npm registry package into the cache once (npm checks
# the registry's integrity hash) and prints its directory. The build uses it for the status
# page's chart library; the browser test for its driver.
set -euo pipefail
name=$1 version=$2
cache=${PGVIGIL_CACHE:-/var/cache/pgvigil}/npm
dir="$cache/${name//\//_}-$version"
if [[ ! -f "$dir/package.json" ]]; then
  command -v npm >/dev/null || { echo "fetch-npm.sh: npm is needed to fetch $name@$version" >&2; exit 1; }
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null) ||
    { echo "fetch-npm.sh: npm pack $name@$version failed" >&2; exit 1; }
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
  chmod -R a+rX "$dir"
fi
echo "$dir"
