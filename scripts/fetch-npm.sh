#!/usr/bin/env bash
# fetch-npm.sh NAME VERSION: unpacks that npm registry package into the cache once (npm checks
# the registry's integrity hash) and prints its directory. The build uses it for the status
# page's chart library; the browser test for its driver.
# fetch-npm.sh --install NAME VERSION: installs it with its dependencies (npm install) into the
# cache once and prints the directory holding its node_modules: the accounting test's
# node-postgres client.
set -euo pipefail
if [[ "${1:-}" == "--install" ]]; then
  name=$2 version=$3
  cache=${PGVIGIL_CACHE:-/var/cache/pgvigil}/npm
  dir="$cache/installed-${name//\//_}-$version"
  if [[ ! -f "$dir/node_modules/$name/package.json" ]]; then
    command -v npm >/dev/null || { echo "fetch-npm.sh: npm is needed to install $name@$version" >&2; exit 1; }
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/install.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm install --silent --no-audit --no-fund --no-save "$name@$version" >/dev/null) ||
      { echo "fetch-npm.sh: npm install $name@$version failed" >&2; exit 1; }
    rm -rf "$dir"
    mv "$tmp" "$dir"
    chmod -R a+rX "$dir"
  fi
  echo "$dir"
  exit 0
fi
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
