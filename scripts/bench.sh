#!/usr/bin/env bash
# `npm run bench`: the benchmarks in test/bench (not tests; see vitest.config.ts).
#   bash scripts/bench.sh [args...]   args go to test/bench/run.ts
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/system-deps.sh
bash scripts/npm-deps.sh
# The benches that run the agent as a device does (capture-cost) use the built code.
npx tsc -p tsconfig.build.json
exec npx tsx test/bench/run.ts "$@"
