#!/usr/bin/env bash
# End to end, as a user: start the demo, sign in through a real browser (headless Chromium,
# driven by playwright-core), watch live values arrive, take screenshots, and check that last
# month's committee report and statements print Chinese (pdftotext).
# Needs: target/debug/jieneng (cargo build), chromium, node/npm, pdftotext.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${E2E_OUT:-target/e2e}"
work="$(mktemp -d)"
trap 'kill "$demo" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$out"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
./target/debug/jieneng demo --listen "127.0.0.1:$port" --data "$work/demo" >"$work/demo.log" 2>&1 &
demo=$!
for _ in $(seq 1 600); do
  if curl -fs "$base/healthz" | grep -q '"history_ready":true'; then break; fi
  sleep 0.5
done
curl -fs "$base/healthz" | grep -q '"history_ready":true' || { cat "$work/demo.log"; echo "demo not ready"; exit 1; }

(cd "$work" && npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null)
cp tests/e2e/screenshots.mjs "$work/"
node "$work/screenshots.mjs" "$base" "$(realpath "$out")"

token() { python3 -c "import json,sys; print(json.load(open('$work/demo/demo-tokens.json'))['$1'])"; }
# The site's months (Asia/Shanghai), whatever the machine's zone.
month=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-01) -1 month" +%Y-%m)
curl -fs -H "Authorization: Bearer $(token committee)" "$base/api/v1/reports/monthly/$month.pdf" -o "$out/report.pdf"
curl -fs -H "Authorization: Bearer $(token finance)" "$base/api/v1/billing/$month/statements.pdf" -o "$out/statements.pdf"
for pdf in report statements; do
  text=$(pdftotext "$out/$pdf.pdf" - | tr -d ' \n')
  case "$pdf" in
    report) want="节能工作月报" ;;
    statements) want="水电费结算单" ;;
  esac
  grep -q "$want" <<<"$text" || { echo "$pdf.pdf: no '$want' in its text"; exit 1; }
  grep -q "示范大学" <<<"$text" || { echo "$pdf.pdf: no site name in its text"; exit 1; }
done
echo "e2e: screenshots and PDFs in $out"
