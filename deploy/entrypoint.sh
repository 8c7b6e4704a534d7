#!/bin/sh
# The one way the bot is started in production: the container's ENTRYPOINT and the systemd
# unit's ExecStart. `entrypoint.sh COMMAND [ARGS…]` runs `python -m bot COMMAND --config
# $DOITHOAI_CONFIG ARGS…` from the code's directory; COMMAND defaults to `run`.
#   DOITHOAI_CONFIG  the union's config file (default: config.toml beside the code, which
#                    compose.yaml mounts over /app/config.toml)
#   PYTHON           the interpreter (default: python; the systemd unit names the venv's)
# Tokens come from the environment (TELEGRAM_BOT_TOKEN, ZALO_BOT_TOKEN, ZALO_WEBHOOK_SECRET),
# never from a file in the image. Migrations run at start-up; `run` backs up first.
set -eu
code_dir=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
config=${DOITHOAI_CONFIG:-$code_dir/config.toml}
command=${1:-run}
[ "$#" -gt 0 ] && shift
cd "$code_dir"
export PYTHONPATH="$code_dir${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python}" -m bot "$command" --config "$config" "$@"
