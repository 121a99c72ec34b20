#!/bin/sh
# The agent container's start (deploy/Dockerfile, target agent): enroll once, then run.
#
# Enrollment exchanges a one-time token for the node's credential, kept in the state file
# ($EARSHOT_AGENT_CONFIG, on the container's volume). So the token is needed only for the first
# start: create the node on the controller (POST /api/v1/nodes/enroll), put its enrollmentToken in
# EARSHOT_AGENT_ENROLL_TOKEN, and start the container; later starts find the state file and
# ignore the variable (an already used token would be refused anyway).
#   EARSHOT_AGENT_ENROLL_TOKEN     the node's one-time enrollment token (first start only)
#   EARSHOT_AGENT_CONTROLLER_URL   the controller as the agent reaches it (default http://controller:8080)
set -eu

state="${EARSHOT_AGENT_CONFIG:-/var/lib/earshot-agent/agent.json}"
cli=/opt/earshot/dist/agent/src/cli.js

if [ ! -f "$state" ]; then
  if [ -z "${EARSHOT_AGENT_ENROLL_TOKEN:-}" ]; then
    echo "earshot-agent: not enrolled yet ($state is missing)." >&2
    echo "Create the node on the controller (POST /api/v1/nodes/enroll), set EARSHOT_AGENT_ENROLL_TOKEN" >&2
    echo "to its enrollmentToken and start the container again (deploy/README.md, Compose)." >&2
    exit 78
  fi
  node "$cli" enroll --controller "${EARSHOT_AGENT_CONTROLLER_URL:-http://controller:8080}" \
    --token "$EARSHOT_AGENT_ENROLL_TOKEN"
fi

# A small young generation: see deploy/earshot-agent.service.
exec node --max-semi-space-size=1 "$cli" run
