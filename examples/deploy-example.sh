#!/usr/bin/env bash
# The main job: build, synthesize the example stacks and deploy them onto this host with `cdktf deploy`
# (terraform_data carriers, nothing to download), then show what was made. Root: $HOSTSTORE_ROOT.
set -euo pipefail
cd "$(dirname "$0")/.."
export HOSTSTORE_ROOT="${HOSTSTORE_ROOT:-/tmp/hoststore-example}"
export CHECKPOINT_DISABLE=1
action="${1:-deploy}"
[ "$(id -u)" = 0 ] || { echo "deploy-example: loop devices and mounts need root" >&2; exit 1; }
command -v terraform >/dev/null || { echo "deploy-example: terraform is not on the PATH" >&2; exit 1; }
bash examples/install-host-tools.sh
npm run --silent build
echo "== cdktf $action of the example stacks into $HOSTSTORE_ROOT"
npx cdktf "$action" '*' --auto-approve --outputs-file "$HOSTSTORE_ROOT.outputs.json" 2>&1 | grep -v -E 'CLI configuration|terraformrc|does not exist|^[│╷╵ ]*$' || true
echo "== hoststore list --root $HOSTSTORE_ROOT"
node dist/provider/cli.js list --root "$HOSTSTORE_ROOT"
