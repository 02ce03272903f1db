#!/usr/bin/env bash
# Wire check of the local KMS server against an independent client: the AWS CLI (botocore), not
# the JavaScript SDK the test suite uses. Not part of `npm test` (CI machines need not have the
# AWS CLI); run it by hand after changing src/kms_server/:
#
#   bash scripts/check_kms_wire.sh        # needs `aws` (Debian: apt install awscli)
#
# Starts `sealfig kms-server` on a free port, drives every operation the server claims through
# `aws kms`, checks answers and error shapes, and prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
command -v aws >/dev/null || { echo "the AWS CLI (aws) is not installed"; exit 2; }

tmp=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

node --import tsx scripts/sealfig.ts kms-server --port 0 >"$tmp/endpoint" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 100); do grep -q '^http' "$tmp/endpoint" 2>/dev/null && break; sleep 0.1; done
endpoint=$(grep -m1 '^http' "$tmp/endpoint") || { cat "$tmp/server.err"; exit 1; }

export AWS_ACCESS_KEY_ID=AKIDWIRECHECK AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL_KMS="$endpoint" AWS_PAGER="" AWS_DEFAULT_OUTPUT=json
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
kms() { aws kms "$@" 2>"$tmp/err"; }
# expect_error NAME EXCEPTION aws-kms-args...: the call fails with that error code
expect_error() {
  local name=$1 want=$2; shift 2
  if aws kms "$@" >/dev/null 2>"$tmp/err"; then bad "$name" "succeeded"
  elif grep -q "($want)" "$tmp/err"; then ok "$name ($want)"
  else bad "$name" "$(head -c 300 "$tmp/err")"; fi
}
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

key=$(kms create-key --description wire-check | field '["KeyMetadata"]["Arn"]') &&
  [[ $key == arn:aws:kms:us-east-1:111122223333:key/* ]] && ok "CreateKey: $key" ||
  bad "CreateKey" "$(cat "$tmp/err")"
kms describe-key --key-id "$key" | field '["KeyMetadata"]["KeyState"]' | grep -qx Enabled &&
  ok "DescribeKey: Enabled" || bad "DescribeKey"
kms list-keys | grep -q "$key" && ok "ListKeys" || bad "ListKeys"
kms create-alias --alias-name alias/wire --target-key-id "$key" && ok "CreateAlias" ||
  bad "CreateAlias" "$(cat "$tmp/err")"
kms list-aliases | grep -q '"alias/wire"' && ok "ListAliases" || bad "ListAliases"
kms describe-key --key-id alias/wire | grep -q "$key" && ok "DescribeKey by alias" ||
  bad "DescribeKey by alias"

printf 'wire-check-plaintext' >"$tmp/plain"
kms encrypt --key-id alias/wire --plaintext "fileb://$tmp/plain" \
  --encryption-context app=wire,env=dev --query CiphertextBlob --output text |
  base64 -d >"$tmp/ct" && [ -s "$tmp/ct" ] && ok "Encrypt with context" || bad "Encrypt"
kms decrypt --ciphertext-blob "fileb://$tmp/ct" --encryption-context app=wire,env=dev \
  --key-id "$key" --query Plaintext --output text | base64 -d | grep -qx 'wire-check-plaintext' &&
  ok "Decrypt round trip" || bad "Decrypt round trip" "$(cat "$tmp/err")"
expect_error "Decrypt, wrong context" InvalidCiphertextException \
  decrypt --ciphertext-blob "fileb://$tmp/ct" --encryption-context app=wire,env=prod

dk=$(kms generate-data-key --key-id "$key" --key-spec AES_256) &&
  [ "$(echo "$dk" | field '["Plaintext"]' | base64 -d | wc -c)" -eq 32 ] &&
  ok "GenerateDataKey AES_256: 32-byte plaintext" || bad "GenerateDataKey"
kms generate-data-key-without-plaintext --key-id "$key" --number-of-bytes 32 |
  grep -q CiphertextBlob && ok "GenerateDataKeyWithoutPlaintext" ||
  bad "GenerateDataKeyWithoutPlaintext"

key2=$(kms create-key --description wire-check-2 | field '["KeyMetadata"]["Arn"]')
kms re-encrypt --ciphertext-blob "fileb://$tmp/ct" --source-encryption-context app=wire,env=dev \
  --destination-key-id "$key2" --destination-encryption-context app=wire,env=dev \
  --query CiphertextBlob --output text | base64 -d >"$tmp/ct2" && [ -s "$tmp/ct2" ] &&
  ok "ReEncrypt to a second key" || bad "ReEncrypt" "$(cat "$tmp/err")"
kms decrypt --ciphertext-blob "fileb://$tmp/ct2" --encryption-context app=wire,env=dev \
  --query Plaintext --output text | base64 -d | grep -qx 'wire-check-plaintext' &&
  ok "Decrypt after ReEncrypt" || bad "Decrypt after ReEncrypt"
expect_error "Decrypt naming the wrong key" IncorrectKeyException \
  decrypt --ciphertext-blob "fileb://$tmp/ct2" --encryption-context app=wire,env=dev --key-id "$key"

kms rotate-key-on-demand --key-id "$key" >/dev/null && ok "RotateKeyOnDemand" ||
  bad "RotateKeyOnDemand" "$(cat "$tmp/err")"
kms decrypt --ciphertext-blob "fileb://$tmp/ct" --encryption-context app=wire,env=dev \
  --query Plaintext --output text | base64 -d | grep -qx 'wire-check-plaintext' &&
  ok "old ciphertext decrypts after rotation" || bad "Decrypt after rotation"

kms disable-key --key-id "$key" && ok "DisableKey" || bad "DisableKey"
expect_error "Decrypt under a disabled key" DisabledException \
  decrypt --ciphertext-blob "fileb://$tmp/ct" --encryption-context app=wire,env=dev
kms enable-key --key-id "$key" && ok "EnableKey" || bad "EnableKey"
kms schedule-key-deletion --key-id "$key2" --pending-window-in-days 7 |
  grep -q PendingDeletion && ok "ScheduleKeyDeletion" || bad "ScheduleKeyDeletion"
expect_error "Decrypt under a key pending deletion" KMSInvalidStateException \
  decrypt --ciphertext-blob "fileb://$tmp/ct2" --encryption-context app=wire,env=dev
expect_error "DescribeKey, unknown key" NotFoundException \
  describe-key --key-id 11111111-2222-3333-4444-555555555555

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
