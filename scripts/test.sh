#!/usr/bin/env bash
# `npm test`: type check (tsc + deno check), lint/format check, JSR publish checks, the suite under
# Node (vitest) and the same files under Deno (deno test, via tests/_deno/vitest_shim.ts), then the
# npm build and the consumer tests (tests/consumer/run.ts: the packed package installed in a fresh
# project, on Node; mod.ts on Deno). Prints one "N passed, N failed" line at the end for CI.
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
# The adversarial suite (tests/adversarial) writes its summary of counts here, per runtime.
export SEALFIG_ADVERSARIAL_SUMMARY_DIR="$tmp"
fail=0

step "tsc --noEmit"
npx --no-install tsc -p tsconfig.json || fail=1

step "deno check + lint + fmt --check"
npx --no-install deno check --quiet mod.ts document.ts kms_server.ts src/ tests/ scripts/ || fail=1
npx --no-install deno lint --quiet mod.ts document.ts kms_server.ts src/ tests/ scripts/ || fail=1
npx --no-install deno fmt --check --quiet mod.ts document.ts kms_server.ts src/ tests/ scripts/ docs/ || fail=1

step "JSR checks: deno publish --dry-run (slow types), deno doc --lint per entry point"
# Offline: the dry run needs no registry (npm packages come from node_modules). --no-check: the
# type check ran above; slow-type checks still run.
if ! npx --no-install deno publish --dry-run --allow-dirty --no-check --quiet >"$tmp/publish.txt" 2>&1; then
  cat "$tmp/publish.txt"; fail=1
fi
# Per entry point (deno.json exports): every public symbol documented, functions and classes with
# an @example, every type in a public signature exported (by that entry point or another one of the
# package); the only exceptions are third-party types (AWS SDK client, yaml Document). Also checks
# that package.json exports the same entry points and prints each one's export count.
npx --no-install tsx scripts/check_entry_points.ts || fail=1

step "vitest (node $(node --version))"
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$tmp/vitest.json" || fail=1
read -r v_pass v_fail < <(node -e '
  try { const r = require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests + (r.numFailedTestSuites || 0)); }
  catch { console.log(0, 1); }' "$tmp/vitest.json")

step "deno test ($(npx --no-install deno --version | head -1))"
# `deno test --parallel` runs test modules as workers of ONE process: they share its environment
# variables and working directory (vitest's forks do not). Files that change either run in a second,
# serial pass; the rest run in parallel. The split is found by pattern, so a new file that sets a
# variable is serialised without anyone remembering to list it.
mutates='process\.env(\.[A-Za-z_]+|\[[^]]+\]) *=[^=]|delete process\.env|Deno\.env\.(set|delete)|process\.chdir|Deno\.chdir'
mapfile -t deno_serial < <(grep -rlE "$mutates" tests --include='*.test.ts' | sort)
mapfile -t deno_parallel < <(find tests -name '*.test.ts' | sort | grep -vxF -f <(printf '%s\n' "${deno_serial[@]}"))
d_pass=0; d_fail=0
deno_pass() { # $1: label; rest: deno test arguments
  local label=$1; shift
  npx --no-install deno test -A --no-check --reporter=dot "$@" 2>&1 | tee "$tmp/deno-$label.txt"
  local rc=${PIPESTATUS[0]}
  # summary: "ok | 3 passed (11 steps) | 0 failed" -- count steps (it() calls) when present
  local line p f
  line=$(grep -E '^(ok|FAILED) \|' "$tmp/deno-$label.txt" | tail -1)
  p=$(echo "$line" | grep -oE '[0-9]+ passed( \([0-9]+ steps?\))?' | grep -oE '[0-9]+' | tail -1)
  f=$(echo "$line" | grep -oE '[0-9]+ failed( \([0-9]+ steps?\))?' | grep -oE '[0-9]+' | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  d_pass=$((d_pass + p)); d_fail=$((d_fail + f))
}
deno_pass parallel --parallel "${deno_parallel[@]}"
echo "serial (these change process.env or the working directory): ${deno_serial[*]}"
deno_pass serial "${deno_serial[@]}"

step "npm build + consumer tests (packed package on node, the entry points on deno)"
c_pass=0; c_fail=1
if npm run --silent build; then
  npx --no-install tsx tests/consumer/run.ts 2>&1 | tee "$tmp/consumer.txt"
  c_line=$(grep -E '^consumer: [0-9]+ passed, [0-9]+ failed$' "$tmp/consumer.txt" | tail -1)
  c_pass=$(echo "$c_line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
  c_fail=$(echo "$c_line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
  c_pass=${c_pass:-0}; c_fail=${c_fail:-1}
fi

step "summary"
cat "$tmp"/adversarial-*.txt 2>/dev/null
echo "node (vitest): ${v_pass} passed, ${v_fail} failed"
echo "deno (deno test): ${d_pass} passed, ${d_fail} failed"
echo "consumer (npm package on node, entry points on deno): ${c_pass} passed, ${c_fail} failed"
[ "$fail" -ne 0 ] && echo "type check, lint, format or JSR check failed"
total_fail=$((v_fail + d_fail + c_fail + fail))
echo "$((v_pass + d_pass + c_pass)) passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ] && [ "$v_pass" -gt 0 ] && [ "$d_pass" -gt 0 ] && [ "$c_pass" -gt 0 ]
