#!/usr/bin/env bash
# Rebuilds internal/protect/breached/data/common-passwords.ghbf, the
# breached-password filter gatehouse ships, from the leaked-password list in
# the npm package @zxcvbn-ts/language-common (MIT; src/passwords.json, the
# most common passwords from public breaches). Reproducible: same package
# version, same filter bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.1.3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@zxcvbn-ts/language-common@$version" >/dev/null && tar xzf ./*.tgz)
node -e 'for (const p of require(process.argv[1])) console.log(p)' "$work/package/src/passwords.json" > "$work/passwords.txt"
go run ./cmd/gatehouse breached build --format plaintext "$work/passwords.txt" internal/protect/breached/data/common-passwords.ghbf
