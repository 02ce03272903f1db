#!/usr/bin/env bash
# `npm test`: type check (tsc + deno check), lint/format check, the suite under Node (vitest) and
# the same files under Deno (deno test, via tests/_deno/vitest_shim.ts). Prints one
# "N passed, N failed" line at the end for CI.
set -uo pipefail
cd "$(dirname "$0")/.."

export NO_COLOR=1
export DENO_NO_UPDATE_CHECK=1
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
export AWS_EC2_METADATA_DISABLED=true

t0=$SECONDS
step() { echo; echo "=== $1 ($((SECONDS - t0))s)"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

step "tsc --noEmit"
npx --no-install tsc -p tsconfig.json || fail=1

step "deno check + lint + fmt --check"
npx --no-install deno check --quiet mod.ts src/ tests/ scripts/ || fail=1
npx --no-install deno lint --quiet mod.ts src/ tests/ scripts/ || fail=1
npx --no-install deno fmt --check --quiet mod.ts src/ tests/ scripts/ docs/ || fail=1

step "vitest (node $(node --version))"
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$tmp/vitest.json" || fail=1
read -r v_pass v_fail < <(node -e '
  try { const r = require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests + (r.numFailedTestSuites || 0)); }
  catch { console.log(0, 1); }' "$tmp/vitest.json")

step "deno test ($(npx --no-install deno --version | head -1))"
npx --no-install deno test -A --no-check --reporter=dot tests/ 2>&1 | tee "$tmp/deno.txt"
d_rc=${PIPESTATUS[0]}
# summary: "ok | 3 passed (11 steps) | 0 failed" -- count steps (it() calls) when present
d_line=$(grep -E '^(ok|FAILED) \|' "$tmp/deno.txt" | tail -1)
d_pass=$(echo "$d_line" | grep -oE '[0-9]+ passed( \([0-9]+ steps?\))?' | grep -oE '[0-9]+' | tail -1)
d_fail=$(echo "$d_line" | grep -oE '[0-9]+ failed( \([0-9]+ steps?\))?' | grep -oE '[0-9]+' | tail -1)
d_pass=${d_pass:-0}; d_fail=${d_fail:-0}
if [ "$d_rc" -ne 0 ] && [ "$d_fail" -eq 0 ]; then d_fail=1; fi

step "summary"
echo "node (vitest): ${v_pass} passed, ${v_fail} failed"
echo "deno (deno test): ${d_pass} passed, ${d_fail} failed"
[ "$fail" -ne 0 ] && echo "type check, lint or format check failed"
total_fail=$((v_fail + d_fail + fail))
echo "$((v_pass + d_pass)) passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ] && [ "$v_pass" -gt 0 ] && [ "$d_pass" -gt 0 ]
