#!/usr/bin/env bash
# `npm test`: system packages, build, then every test project on SQLite and the integration
# project again on PostgreSQL (its global setup also starts a throwaway redis-server, for the
# clustered-broker tests in test/integration/mqtt-cluster.test.ts; skipped on SQLite). Ends with
# the line `N passed, N failed` (summed over the runs) and
# exits non-zero if the build or any run failed.
#
#   bash scripts/test.sh [vitest args...]     extra args (e.g. a file filter) go to both vitest runs
#   EARSHOT_SKIP_BUILD=1 bash scripts/test.sh skip `npm run build` (quick local iteration)
#   EARSHOT_SKIP_PG=1 bash scripts/test.sh    skip the PostgreSQL run (the integration project
#                                             only: not the console's browser tier)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/system-deps.sh || {
  echo "test.sh: system packages missing (see above)" >&2
  echo "0 passed, 1 failed"
  exit 1
}

bash scripts/npm-deps.sh || {
  echo "test.sh: npm packages could not be installed (see above)" >&2
  echo "0 passed, 1 failed"
  exit 1
}

status=0
extra_failed=0

if [[ "${EARSHOT_SKIP_BUILD:-}" != "1" ]]; then
  echo "== npm run build"
  if ! npm run build; then
    echo "test.sh: npm run build FAILED" >&2
    status=1
    extra_failed=$((extra_failed + 1))
  fi
fi

reports=$(mktemp -d "${TMPDIR:-/tmp}/earshot-test-reports.XXXXXX")
trap 'rm -rf "$reports"' EXIT

# run_vitest LABEL DB [vitest args...]
run_vitest() {
  local label=$1 db=$2
  shift 2
  echo
  echo "== vitest ($label, EARSHOT_TEST_DB=$db)"
  local rc=0
  EARSHOT_TEST_DB=$db npx vitest run --passWithNoTests \
    --reporter=default --reporter=json --outputFile="$reports/$label.json" "$@" </dev/null || rc=$?
  echo "$rc" >"$reports/$label.rc"
  if [[ $rc -ne 0 ]]; then
    echo "test.sh: vitest ($label) exited $rc" >&2
    status=1
  fi
}

run_vitest sqlite sqlite "$@"
if [[ "${EARSHOT_SKIP_PG:-}" != "1" ]]; then
  # The console's page-by-page browser tier (the `console` project, console-*.test.ts) tests the
  # UI over the API, which the API's own tests cover on both databases: it runs on SQLite only.
  # console.test.ts (the shell, sign-in, the live stream) is in `integration`: it runs on both.
  run_vitest postgres postgres --project integration "$@"
fi

# Sum the JSON reports. A run that exited non-zero without a failed test (a file that failed to
# load, an unhandled error, a crash before the report was written) counts as one failure.
summary=$(
  node - "$reports" "$extra_failed" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [dir, extra] = process.argv.slice(2);
let passed = 0;
let failed = Number(extra) || 0;
let skipped = 0;
const notes = [];
for (const rcFile of fs.readdirSync(dir).filter((f) => f.endsWith('.rc')).sort()) {
  const label = rcFile.slice(0, -3);
  const rc = Number(fs.readFileSync(path.join(dir, rcFile), 'utf8').trim());
  let runFailed = 0;
  const jsonFile = path.join(dir, `${label}.json`);
  if (fs.existsSync(jsonFile)) {
    try {
      const r = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
      passed += r.numPassedTests ?? 0;
      runFailed += r.numFailedTests ?? 0;
      skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      for (const file of r.testResults ?? []) {
        const failedTests = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
        for (const a of failedTests) {
          notes.push(`${label}: FAILED ${path.relative(process.cwd(), file.name)} > ${a.fullName ?? a.title}`);
        }
        if (file.status === 'failed' && failedTests.length === 0) {
          runFailed += 1;
          notes.push(`${label}: ${path.relative(process.cwd(), file.name)} failed outside its tests`);
        }
      }
    } catch (err) {
      notes.push(`${label}: unreadable JSON report (${err.message})`);
    }
  } else {
    notes.push(`${label}: no JSON report`);
  }
  if (rc !== 0 && runFailed === 0) {
    runFailed = 1;
    notes.push(`${label}: vitest exited ${rc} with no failed test`);
  }
  failed += runFailed;
}
for (const n of notes) console.error(`test.sh: ${n}`);
if (skipped > 0) console.error(`test.sh: ${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
EOF
) || {
  summary="0 passed, 1 failed"
  status=1
}

if [[ $status -eq 0 && "$summary" == 0\ passed,* ]]; then
  echo "test.sh: no test ran" >&2
  status=1
  summary="0 passed, 1 failed"
fi

echo
echo "$summary"
exit $status
