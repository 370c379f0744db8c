#!/usr/bin/env bash
# Builds the release tarball logward-<version>.tar.gz: everything install.sh
# needs to install on a host that cannot reach npm.
#
#   scripts/release.sh [--out DIR]        tarball into DIR (default: the repo root)
#   scripts/release.sh --stage-dir DIR    only the unpacked tree DIR/logward-<version>/
#                                         (install.sh uses this when run from a checkout)
#
# Contents, under the top directory logward-<version>/: dist/ (compiled here),
# schemas/, systemd/, examples/, install.sh, package.json, package-lock.json,
# README.md, LICENSE (if present), production node_modules/, and the marker
# .logward-release by which install.sh tells a release tree from a checkout.
#
# The developer's checkout is never modified: dist/ is compiled straight into
# the staging tree (npm run build -- --outDir), and the production
# dependencies are installed there with `npm ci --omit=dev` from the lockfile.
# That step may use the network (or only the npm cache, when it holds them);
# if it fails, the checkout's node_modules are copied and pruned to production
# instead, which needs no network. Installing from the tarball never does.
set -euo pipefail

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  printf 'release.sh: %s\n' "$*" >&2
  exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root
stage_only=

while [ $# -gt 0 ]; do
  case $1 in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --stage-dir) [ $# -ge 2 ] || die "--stage-dir needs a directory"; stage_only=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

command -v node >/dev/null 2>&1 || die "node is required to build a release"
command -v npm >/dev/null 2>&1 || die "npm is required to build a release"

version=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version)' "$root/package.json")
case $version in
  '' | *[!0-9A-Za-z.+-]*) die "package.json has no usable version: '$version'" ;;
esac
name=logward-$version

work=$(mktemp -d "${TMPDIR:-/tmp}/logward-release.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

if [ -n "$stage_only" ]; then
  mkdir -p "$stage_only"
  stage=$(cd "$stage_only" && pwd)
  rm -rf "${stage:?}/$name"
else
  stage=$work
fi
pkg=$stage/$name
mkdir -p "$pkg"

for f in package.json package-lock.json README.md install.sh LICENSE; do
  if [ -f "$root/$f" ]; then
    cp "$root/$f" "$pkg/"
  elif [ "$f" != LICENSE ]; then
    die "$f is missing from $root"
  fi
done
for d in schemas systemd examples; do
  [ -d "$root/$d" ] || die "$d/ is missing from $root"
  cp -R "$root/$d" "$pkg/"
done

echo "release.sh: compiling dist/ for $name" >&2
(cd "$root" && npm run --silent build -- --outDir "$pkg/dist") >&2 || die "npm run build failed"
[ -f "$pkg/dist/cli.js" ] || die "the build produced no dist/cli.js"

echo "release.sh: installing production dependencies" >&2
# --ignore-scripts: the root package's `prepare` would try to compile with the
# (omitted) dev dependencies; no production dependency has an install script.
if ! (cd "$pkg" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error) >&2; then
  echo "release.sh: npm ci failed; pruning a copy of the checkout's node_modules instead" >&2
  [ -d "$root/node_modules" ] || die "no node_modules in $root to fall back on: run npm install"
  rm -rf "$pkg/node_modules"
  cp -R "$root/node_modules" "$pkg/node_modules"
  (cd "$pkg" && npm prune --omit=dev --ignore-scripts --offline --no-audit --no-fund --loglevel=error) >&2 ||
    die "npm prune --omit=dev failed"
  # prune leaves emptied @scope directories behind
  find "$pkg/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete
fi
[ -d "$pkg/node_modules" ] || die "no node_modules after installing production dependencies"

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "name=logward"
  echo "version=$version"
  echo "commit=$commit"
  echo "node_modules=production"
} >"$pkg/.logward-release"

# Installed files are root-owned and world-readable; nothing in here is secret.
chmod -R u=rwX,go=rX "$pkg"

if [ -n "$stage_only" ]; then
  echo "$pkg"
  exit 0
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
tarball=$out/$name.tar.gz
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner -czf "$work/$name.tar.gz" "$name"
mv -f "$work/$name.tar.gz" "$tarball"
echo "$tarball"
