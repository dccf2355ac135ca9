#!/usr/bin/env bash
# The main job: build, synthesize the example stacks and apply them onto this host, then show what was
# made. Root: $HOSTSTORE_ROOT (default /var/lib/hoststore-example: a directory no other user can
# pre-create, as hoststore requires of a root).
#   deploy-example.sh [apply]      the embedded engine: hoststore plan, then hoststore apply (no Terraform needed)
#   deploy-example.sh terraform    the same through `cdktf deploy` (terraform_data carriers, nothing to download)
#   deploy-example.sh destroy      hoststore destroy: each removal policy applied (the examples retain their data)
set -euo pipefail
cd "$(dirname "$0")/.."
export HOSTSTORE_ROOT="${HOSTSTORE_ROOT:-/var/lib/hoststore-example}"
export CHECKPOINT_DISABLE=1
action="${1:-apply}"
[ "$(id -u)" = 0 ] || { echo "deploy-example: loop devices and mounts need root" >&2; exit 1; }
bash examples/install-host-tools.sh
npm run --silent build
hoststore() { node dist/provider/cli.js "$@"; }
case "$action" in
  apply)
    echo "== synth the example stacks (cdktf.out)"
    node dist/examples/main.js
    echo "== hoststore plan"
    hoststore plan
    echo "== hoststore apply into $HOSTSTORE_ROOT"
    hoststore apply --auto-approve >/dev/null
    echo "applied" ;;
  terraform)
    command -v terraform >/dev/null || { echo "deploy-example: terraform is not on the PATH" >&2; exit 1; }
    echo "== cdktf deploy of the example stacks into $HOSTSTORE_ROOT"
    npx cdktf deploy '*' --auto-approve 2>&1 | grep -E 'Apply complete|Error|error' || true ;;
  destroy)
    node dist/examples/main.js
    hoststore destroy --auto-approve ;;
  *) echo "usage: deploy-example.sh [apply|terraform|destroy]" >&2; exit 2 ;;
esac
echo "== hoststore list --root $HOSTSTORE_ROOT"
hoststore list --root "$HOSTSTORE_ROOT"
