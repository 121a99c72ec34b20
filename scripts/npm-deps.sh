#!/usr/bin/env bash
# Install the npm packages with `npm ci` when node_modules is missing or older than the lockfile.
# Used by `npm test`, `npm run demo`, `npm run bench` and .ci/run, so any of them can be the first
# command run in a fresh clone. No `npm install` fallback: a lockfile `npm ci` refuses is a bug to
# fix (`npm install --package-lock-only --ignore-scripts`), not something to paper over.
#
#   bash scripts/npm-deps.sh           install if needed
#   bash scripts/npm-deps.sh --force   run npm ci whatever the state
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "npm-deps: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

# npm writes node_modules/.package-lock.json at the end of every successful install.
stamp=node_modules/.package-lock.json
if [[ $force -eq 0 && -f "$stamp" && ! package-lock.json -nt "$stamp" ]]; then
  exit 0
fi

# better-sqlite3 compiles from source during the install (node-gyp).
missing_build=()
for tool in python3 make g++; do command -v "$tool" >/dev/null 2>&1 || missing_build+=("$tool"); done
if [[ ${#missing_build[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "npm-deps: installing build tools for npm packages: ${missing_build[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
      python3 make g++ >/dev/null
  else
    echo "npm-deps: missing build tools: ${missing_build[*]} (npm compiles better-sqlite3 from source)" >&2
    echo "npm-deps: run: sudo apt-get install -y --no-install-recommends python3 make g++   then try again" >&2
    exit 1
  fi
fi

echo "npm-deps: installing npm packages (npm ci)"
if ! npm ci --no-audit --no-fund; then
  echo "npm-deps: npm ci failed (see above). If it says the lockfile is out of date, run" >&2
  echo "npm-deps:   npm install --package-lock-only --ignore-scripts   and commit package-lock.json" >&2
  exit 1
fi
