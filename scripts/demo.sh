#!/usr/bin/env bash
# `npm run demo`: Earshot on one machine, with no sound card.
#
# Installs what is missing (Debian packages through scripts/system-deps.sh, npm packages), builds,
# then starts, all under ./data/demo/:
#   - a private PulseAudio daemon with a null sink, a 1 kHz sine at -20 dBFS playing into it in a loop;
#   - the controller (SQLite in ./data/demo), on 127.0.0.1 unless EARSHOT_HTTP_HOST says otherwise;
#   - the demo owner `demo` (created through /api/v1/setup on the first run);
#   - one agent, node `demo-node` at site `demo`, capturing the sink's monitor.
# Then it prints what to try, and runs until Ctrl-C, which stops everything it started.
#
#   bash scripts/demo.sh           run the demo
#   bash scripts/demo.sh --smoke   start everything, record 3 s, check the download's SHA-256, stop
#
# Environment: EARSHOT_HTTP_PORT (8080), EARSHOT_MQTT_PORT (1883), EARSHOT_HTTP_HOST and
# EARSHOT_MQTT_HOST (127.0.0.1), EARSHOT_DEMO_DIR (./data/demo), EARSHOT_DEMO_NODE (demo-node),
# EARSHOT_SKIP_BUILD=1 (skip `npm run build`). Re-running reuses the data dir: the owner and the
# enrolled agent are kept. Start afresh with `rm -rf data/demo`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

DEMO_USER=demo
DEMO_PASSWORD=earshot-demo-password
DEMO_SITE=demo
# Also the node's id, so that re-runs and the printed commands know it.
NODE_NAME=${EARSHOT_DEMO_NODE:-demo-node}
SINK=earshot_demo
MONITOR="$SINK.monitor"
HTTP_PORT=${EARSHOT_HTTP_PORT:-8080}
MQTT_PORT=${EARSHOT_MQTT_PORT:-1883}
# The demo password is public: listen on loopback unless told otherwise.
HTTP_HOST=${EARSHOT_HTTP_HOST:-127.0.0.1}
MQTT_HOST=${EARSHOT_MQTT_HOST:-127.0.0.1}
DEMO_DIR=${EARSHOT_DEMO_DIR:-$ROOT/data/demo}

smoke=0
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    -h | --help)
      sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "demo: unknown argument: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

# Colour only on a terminal.
bold="" yellow="" red="" plain=""
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; fi
if [[ -t 2 ]]; then yellow=$'\033[1;33m' red=$'\033[1;31m'; fi
say() { printf '%s %s\n' "${bold}demo:${bold:+$plain}" "$*"; }
warn() { printf '%s %s\n' "${yellow}demo:${yellow:+$'\033[0m'}" "$*" >&2; }
die() {
  printf '%s\n' "${red}demo: $1${red:+$'\033[0m'}" >&2
  shift
  local line
  for line in "$@"; do printf '      %s\n' "$line" >&2; done
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Prerequisites

# One demo per data dir (checked before building: a build would replace its running code).
if [[ -f "$DEMO_DIR/run/demo.pid" ]]; then
  old=$(<"$DEMO_DIR/run/demo.pid")
  if kill -0 "$old" 2>/dev/null && grep -qa 'demo.sh' "/proc/$old/cmdline" 2>/dev/null; then
    die "another demo is running from $DEMO_DIR (PID $old)" \
      "Stop it with Ctrl-C in its terminal (or: kill $old), or give this one its own EARSHOT_DEMO_DIR and ports."
  fi
fi

for tool in node npm curl setsid; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed" \
    "Earshot needs Node >= 20.11 with npm, curl and util-linux (setsid)." \
    "On Debian 12: sudo apt-get install -y curl util-linux, and Node 20 from https://nodejs.org or NodeSource."
done
node -e 'const [M, m] = process.versions.node.split(".").map(Number); process.exit(M > 20 || (M === 20 && m >= 11) ? 0 : 1)' ||
  die "Node $(node --version) is too old" "Earshot needs Node >= 20.11 (Node 20 LTS)."

[[ "$NODE_NAME" =~ ^[A-Za-z0-9_-]{1,64}$ ]] ||
  die "EARSHOT_DEMO_NODE='$NODE_NAME' is not a valid node id" "Use letters, digits, '-' and '_' (at most 64)."
for port in "$HTTP_PORT" "$MQTT_PORT"; do
  [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1 && "$port" -le 65535 ]] ||
    die "port '$port' is not a port number" "Set EARSHOT_HTTP_PORT / EARSHOT_MQTT_PORT to numbers between 1 and 65535."
done

say "checking system packages (scripts/system-deps.sh)"
bash scripts/system-deps.sh ||
  die "system packages are missing (see above)" \
    "Run the apt-get command printed above (or run this demo as root, which installs them), then try again."

say "checking npm packages (scripts/npm-deps.sh)"
bash scripts/npm-deps.sh || die "npm packages could not be installed (see above)" \
  "Check network access to the npm registry, then try again."

if [[ "${EARSHOT_SKIP_BUILD:-}" != "1" ]]; then
  say "building (npm run build)"
  npm run build --silent >"${TMPDIR:-/tmp}/earshot-demo-build.log" 2>&1 || {
    tail -n 40 "${TMPDIR:-/tmp}/earshot-demo-build.log" >&2
    die "npm run build failed (last lines above; full log: ${TMPDIR:-/tmp}/earshot-demo-build.log)" \
      "Fix the build (npm run typecheck shows the errors), then try again."
  }
fi
CONTROLLER_CLI="$ROOT/dist/controller/src/cli.js"
AGENT_CLI="$ROOT/dist/agent/src/cli.js"
[[ -f "$CONTROLLER_CLI" ]] || die "$CONTROLLER_CLI is missing" "Run npm run build and check its output."

# ---------------------------------------------------------------------------------------------
# Processes: each started in its own session (setsid), so stopping one stops its children too
# (the agent's sox, the player's paplay). Their PIDs are kept in run/*.pid: a later run can then
# stop what an interrupted one left behind, by PID, after checking it is really ours.

mkdir -p "$DEMO_DIR"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
RUN_DIR="$DEMO_DIR/run"
LOG_DIR="$DEMO_DIR/logs"
AGENT_DIR="$DEMO_DIR/agent"
AGENT_STATE="$AGENT_DIR/agent.json"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$AGENT_DIR/cache"
chmod 700 "$AGENT_DIR"

# PulseAudio's socket path must fit in a sockaddr_un (108 bytes); fall back to /tmp when deep.
PULSE_DIR="$DEMO_DIR/pulse"
pulse_tmp=""
if [[ ${#PULSE_DIR} -gt 80 ]]; then
  pulse_tmp=$(mktemp -d "${TMPDIR:-/tmp}/earshot-demo-pulse.XXXXXX")
  PULSE_DIR=$pulse_tmp
fi

# Process names in start order; stopped in reverse.
started=()

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
group_alive() { [[ -n "${1:-}" ]] && kill -0 -- "-$1" 2>/dev/null; }

# stop_process NAME: SIGTERM to the process, up to 10 s for it to exit, then SIGKILL to whatever
# is left in its process group.
stop_process() {
  local name=$1 pid_file="$RUN_DIR/$1.pid" pid i
  [[ -f "$pid_file" ]] || return 0
  pid=$(<"$pid_file")
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      group_alive "$pid" || break
      # The leader gone, hurry what it left behind.
      pid_alive "$pid" || kill -TERM -- "-$pid" 2>/dev/null || true
      sleep 0.1
    done
    if group_alive "$pid"; then
      warn "$name (PID $pid) did not stop within 10 s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

cleaned=0
cleanup() {
  local status=$?
  [[ $cleaned -eq 1 ]] && return
  cleaned=1
  trap '' INT TERM
  if [[ ${#started[@]} -gt 0 ]]; then
    echo
    say "stopping: ${started[*]}"
    local i
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do stop_process "${started[$i]}"; done
  fi
  [[ -n "$pulse_tmp" ]] && rm -rf "$pulse_tmp"
  rm -f "$RUN_DIR/demo.pid"
  [[ ${#started[@]} -gt 0 ]] && say "stopped"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_process NAME LOG COMMAND...: runs COMMAND in its own session, output to LOG.
start_process() {
  local name=$1 log=$2
  shift 2
  setsid "$@" >>"$log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$RUN_DIR/$name.pid"
  started+=("$name")
}

# A previous run that was killed outright (kill -9, closed terminal) can leave its processes.
for name in agent controller player pulseaudio; do
  pid_file="$RUN_DIR/$name.pid"
  [[ -f "$pid_file" ]] || continue
  old=$(<"$pid_file")
  if pid_alive "$old" && grep -qaE 'pulseaudio|paplay|bash|node' "/proc/$old/cmdline" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$old/environ" 2>/dev/null | grep -q "EARSHOT_DEMO_DIR=$DEMO_DIR"; then
    warn "stopping $name left over from an earlier demo run (PID $old)"
    stop_process "$name"
  fi
  rm -f "$pid_file"
done
echo $$ >"$RUN_DIR/demo.pid"
# Marks our processes (checked above on the next run).
export EARSHOT_DEMO_DIR="$DEMO_DIR"

port_free() {
  node -e '
    const s = require("node:net").createServer();
    s.once("error", () => process.exit(1));
    s.listen(Number(process.argv[1]), process.argv[2], () => s.close(() => process.exit(0)));
  ' "$1" "$2"
}
port_free "$HTTP_PORT" "$HTTP_HOST" ||
  die "HTTP port $HTTP_PORT on $HTTP_HOST is in use" "Stop what holds it, or pick another: EARSHOT_HTTP_PORT=8090 npm run demo"
port_free "$MQTT_PORT" "$MQTT_HOST" ||
  die "MQTT port $MQTT_PORT on $MQTT_HOST is in use (a mosquitto service?)" \
    "Stop what holds it, or pick another: EARSHOT_MQTT_PORT=1884 npm run demo"

# ---------------------------------------------------------------------------------------------
# PulseAudio: a private daemon with a null sink, and a tone played into it in a loop.

PULSE_HOME="$PULSE_DIR/home"
PULSE_RUNTIME="$PULSE_DIR/run"
PULSE_SOCKET="$PULSE_DIR/native.sock"
rm -rf "$PULSE_RUNTIME" "$PULSE_SOCKET"
mkdir -p "$PULSE_HOME" "$PULSE_RUNTIME"
chmod 700 "$PULSE_DIR" "$PULSE_HOME" "$PULSE_RUNTIME" # pulseaudio refuses a runtime dir others can read
# Clients must talk to our daemon only, never autospawn one of their own.
printf 'autospawn = no\n' >"$PULSE_DIR/client.conf"
PULSE_ENV=(
  "XDG_RUNTIME_DIR=$PULSE_RUNTIME"
  "PULSE_SERVER=unix:$PULSE_SOCKET"
  "PULSE_CLIENTCONFIG=$PULSE_DIR/client.conf"
)

say "starting PulseAudio with a null sink ($SINK)"
: >"$LOG_DIR/pulseaudio.log"
start_process pulseaudio "$LOG_DIR/pulseaudio.log" env "${PULSE_ENV[@]}" "HOME=$PULSE_HOME" \
  pulseaudio --daemonize=no --exit-idle-time=-1 -n --log-target=stderr \
  "--load=module-null-sink sink_name=$SINK rate=48000 channels=2" \
  "--load=module-native-protocol-unix auth-anonymous=1 socket=$PULSE_SOCKET"
pulse_pid=$(<"$RUN_DIR/pulseaudio.pid")
for ((i = 0; ; i++)); do
  pid_alive "$pulse_pid" || {
    tail -n 20 "$LOG_DIR/pulseaudio.log" >&2
    die "PulseAudio exited at start (log above: $LOG_DIR/pulseaudio.log)" \
      "Check that pulseaudio runs here (bash scripts/system-deps.sh --check)."
  }
  env "${PULSE_ENV[@]}" "HOME=$PULSE_HOME" pactl info >/dev/null 2>&1 && break
  [[ $i -lt 100 ]] || die "PulseAudio did not answer within 10 s (log: $LOG_DIR/pulseaudio.log)"
  sleep 0.1
done

TONE="$DEMO_DIR/tone-1khz-20dbfs.wav"
if [[ ! -s "$TONE" ]]; then
  # 16-bit stereo, peak exactly -20 dBFS (sox's `gain` on a full-scale sine, undithered).
  sox -D -n -r 48000 -c 2 -b 16 "$TONE" synth 10 sine 1000 gain -20 ||
    die "sox could not generate the test tone" "Check sox with: sox --version"
fi
say "playing a 1 kHz sine at -20 dBFS into $SINK, in a loop"
# The short sleep keeps a failing paplay from spinning.
# shellcheck disable=SC2016 # expanded by the inner bash
start_process player "$LOG_DIR/player.log" env "${PULSE_ENV[@]}" "HOME=$PULSE_HOME" \
  bash -c 'while :; do paplay --latency-msec=20 -d "$1" "$2" || sleep 1; done' player "$SINK" "$TONE"

# ---------------------------------------------------------------------------------------------
# Controller

URL="http://$HTTP_HOST:$HTTP_PORT"
[[ "$HTTP_HOST" == "0.0.0.0" ]] && URL="http://127.0.0.1:$HTTP_PORT"
if [[ -n "${DATABASE_URL:-}" ]]; then
  warn "DATABASE_URL is set; the demo ignores it and uses SQLite in $DEMO_DIR"
fi

say "starting the controller on $URL (data in $DEMO_DIR, log: $LOG_DIR/controller.log)"
start_process controller "$LOG_DIR/controller.log" env -u DATABASE_URL -u EARSHOT_CONFIG_FILE \
  EARSHOT_DATA_DIR="$DEMO_DIR" EARSHOT_HTTP_PORT="$HTTP_PORT" EARSHOT_HTTP_HOST="$HTTP_HOST" \
  EARSHOT_MQTT_PORT="$MQTT_PORT" EARSHOT_MQTT_HOST="$MQTT_HOST" \
  node "$CONTROLLER_CLI" run
controller_pid=$(<"$RUN_DIR/controller.pid")

for ((i = 0; ; i++)); do
  pid_alive "$controller_pid" || {
    tail -n 30 "$LOG_DIR/controller.log" >&2
    die "the controller exited at start (log above: $LOG_DIR/controller.log)" \
      "A configuration error is named in the log; fix it (see README, Configuration) and try again."
  }
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz" 2>/dev/null) == 200 ]] && break
  [[ $i -lt 600 ]] || die "the controller was not ready within 60 s ($URL/readyz)" "See $LOG_DIR/controller.log."
  sleep 0.1
done
say "controller ready"

# api METHOD PATH [JSON_BODY]: sets STATUS and BODY. Uses $TOKEN when set.
TOKEN=""
api() {
  local method=$1 path=$2 data=${3:-} out=""
  local args=(-sS --max-time 120 -X "$method" -o "$RUN_DIR/response.json" -w '%{http_code}' -H 'accept: application/json')
  [[ -n "$TOKEN" ]] && args+=(-H "authorization: Bearer $TOKEN")
  [[ -n "$data" ]] && args+=(-H 'content-type: application/json' --data-binary "$data")
  out=$(curl "${args[@]}" "$URL$path" 2>&1) || true
  STATUS=${out: -3}
  [[ $STATUS =~ ^[0-9]{3}$ ]] || STATUS=000
  BODY=$(cat "$RUN_DIR/response.json" 2>/dev/null || true)
  if [[ $STATUS == 000 ]]; then
    tail -n 20 "$LOG_DIR/controller.log" >&2
    die "no answer from the controller to $method $path: ${out%000}" "See $LOG_DIR/controller.log (last lines above)."
  fi
}

# json EXPR: evaluates a JavaScript expression over the JSON on stdin, bound to `j`; prints
# strings as they are and anything else as JSON; prints nothing for undefined or null.
json() {
  node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      let j;
      try { j = JSON.parse(s); } catch { process.exit(3); }
      const v = new Function("j", "return (" + process.argv[1] + ");")(j);
      if (v === undefined || v === null) return;
      console.log(typeof v === "string" ? v : JSON.stringify(v));
    });
  ' "$1"
}

# error_of: the `{ error: { code, message } }` of the last response, for messages.
error_of() { printf '%s' "$BODY" | json 'j.error ? j.error.code + ": " + j.error.message : ""' 2>/dev/null || printf '%s' "$BODY"; }

# ---------------------------------------------------------------------------------------------
# Owner and login

credentials=$(node -e 'console.log(JSON.stringify({ username: process.argv[1], password: process.argv[2] }))' \
  "$DEMO_USER" "$DEMO_PASSWORD")
api GET /api/v1/setup
[[ $STATUS == 200 ]] || die "GET /api/v1/setup answered $STATUS: $(error_of)" "See $LOG_DIR/controller.log."
if [[ $(printf '%s' "$BODY" | json 'j.data.setupNeeded') == true ]]; then
  say "creating the demo owner '$DEMO_USER' (POST /api/v1/setup)"
  api POST /api/v1/setup "$credentials"
  [[ $STATUS == 201 ]] || die "setup failed ($STATUS): $(error_of)" "See $LOG_DIR/controller.log."
fi
api POST /api/v1/auth/login "$credentials"
if [[ $STATUS != 200 ]]; then
  die "could not log in as '$DEMO_USER' ($STATUS): $(error_of)" \
    "The data in $DEMO_DIR has an owner with another password. Start afresh: rm -rf '$DEMO_DIR'"
fi
TOKEN=$(printf '%s' "$BODY" | json 'j.data.token')
say "logged in as $DEMO_USER"

# ---------------------------------------------------------------------------------------------
# Node and agent

NODE_ID=$NODE_NAME
agent_note=""
export EARSHOT_AGENT_CONFIG="$AGENT_STATE" EARSHOT_AGENT_CACHE_DIR="$AGENT_DIR/cache"

if [[ ! -f "$AGENT_CLI" ]]; then
  agent_note="the agent CLI ($AGENT_CLI) is not in this build yet: no agent started"
elif [[ -s "$AGENT_STATE" ]]; then
  say "reusing the enrolled agent ($AGENT_STATE)"
else
  say "enrolling node '$NODE_NAME' at site '$DEMO_SITE' (POST /api/v1/nodes/enroll)"
  enroll_body=$(node -e '
    const [id, site, device] = process.argv.slice(1);
    console.log(JSON.stringify({ name: id, id, site, captureDevice: device, sampleRate: 48000, channels: 2 }));
  ' "$NODE_NAME" "$DEMO_SITE" "$MONITOR")
  api POST /api/v1/nodes/enroll "$enroll_body"
  case "$STATUS" in
    201)
      enrollment_token=$(printf '%s' "$BODY" | json 'j.data.enrollmentToken')
      [[ -n "$enrollment_token" ]] || die "the enroll response has no enrollment token: $BODY"
      say "enrolling the agent (earshot-agent enroll --controller $URL --token …)"
      node "$AGENT_CLI" enroll --controller "$URL" --token "$enrollment_token" --config "$AGENT_STATE" \
        >>"$LOG_DIR/agent.log" 2>&1 || {
        tail -n 20 "$LOG_DIR/agent.log" >&2
        die "earshot-agent enroll failed (log above: $LOG_DIR/agent.log)" \
          "The node exists but has no agent now; start afresh with: rm -rf '$DEMO_DIR'"
      }
      ;;
    404) agent_note="the controller has no nodes API yet (POST /api/v1/nodes/enroll → 404): no agent started" ;;
    409)
      die "node '$NODE_ID' already exists, but this demo has no agent state for it ($AGENT_STATE)" \
        "Start afresh with: rm -rf '$DEMO_DIR'   or enroll another node: EARSHOT_DEMO_NODE=demo-node-2 npm run demo"
      ;;
    *) die "POST /api/v1/nodes/enroll answered $STATUS: $(error_of)" "See $LOG_DIR/controller.log." ;;
  esac
fi

if [[ -z "$agent_note" ]]; then
  say "starting the agent (capturing $MONITOR; log: $LOG_DIR/agent.log)"
  start_process agent "$LOG_DIR/agent.log" env "${PULSE_ENV[@]}" \
    AUDIODRIVER=pulseaudio AUDIODEV="$MONITOR" PULSE_LATENCY_MSEC=30 \
    node "$AGENT_CLI" run --config "$AGENT_STATE"
  agent_pid=$(<"$RUN_DIR/agent.pid")
  # Up to 15 s for the node to show as online.
  online=""
  for ((i = 0; i < 30; i++)); do
    pid_alive "$agent_pid" || {
      tail -n 30 "$LOG_DIR/agent.log" >&2
      die "the agent exited (log above: $LOG_DIR/agent.log)" \
        "Its own diagnosis: node $AGENT_CLI status --config '$AGENT_STATE'" \
        "If its credential is no longer valid, start afresh: rm -rf '$DEMO_DIR'"
    }
    api GET "/api/v1/nodes/$NODE_ID"
    online=$(printf '%s' "$BODY" | json 'j.data && j.data.presence && j.data.presence.online' 2>/dev/null || true)
    [[ "$online" == true ]] && break
    sleep 0.5
  done
  if [[ "$online" == true ]]; then
    say "node $NODE_ID is online"
  else
    warn "node $NODE_ID is not reported online yet; the agent is running (see $LOG_DIR/agent.log)"
  fi
fi

# ---------------------------------------------------------------------------------------------
# Smoke mode: one short recording end to end, then stop.

if [[ $smoke -eq 1 ]]; then
  [[ -z "$agent_note" ]] || die "smoke test: $agent_note"
  say "smoke: recording 3 s on $NODE_ID"
  api POST /api/v1/recordings "{\"nodeId\":\"$NODE_ID\",\"durationSeconds\":3,\"title\":\"demo smoke test\"}"
  [[ $STATUS == 201 || $STATUS == 202 ]] || die "smoke: POST /api/v1/recordings answered $STATUS: $(error_of)"
  rec_id=$(printf '%s' "$BODY" | json 'j.data.id')
  [[ -n "$rec_id" ]] || die "smoke: no recording id in $BODY"
  for ((i = 0; ; i++)); do
    api GET "/api/v1/recordings/$rec_id"
    state=$(printf '%s' "$BODY" | json 'j.data && j.data.state' 2>/dev/null || true)
    [[ $state == completed ]] && break
    [[ $state == failed || $state == cancelled ]] && die "smoke: recording $rec_id $state: $BODY" \
      "See $LOG_DIR/agent.log and $LOG_DIR/controller.log."
    [[ $i -lt 120 ]] || die "smoke: recording $rec_id not completed after 120 s (state: ${state:-?})" \
      "See $LOG_DIR/agent.log and $LOG_DIR/controller.log."
    sleep 1
  done
  reported=$(printf '%s' "$BODY" | json 'j.data.sha256')
  file="$RUN_DIR/smoke.wav"
  code=$(curl -sS -o "$file" -w '%{http_code}' -H "authorization: Bearer $TOKEN" "$URL/api/v1/recordings/$rec_id/file" || true)
  [[ $code == 200 ]] || die "smoke: download of recording $rec_id answered $code"
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  [[ -n "$reported" && "$reported" == "$actual" ]] ||
    die "smoke: SHA-256 mismatch: controller reports '$reported', the download hashes to $actual"
  say "smoke: downloaded $(wc -c <"$file") bytes, SHA-256 $actual matches"
  sox "$file" -n stats 2>&1 | grep -E 'Pk lev dB|RMS lev dB' || true
  console_answer=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$URL/")
  [[ "$console_answer" == "200 text/html"* ]] ||
    die "the operator console is not served at $URL/ (answered: $console_answer)" \
      "Run npm run build (it builds dist/console) and try again."
  say "smoke: the operator console is served at $URL/"
  say "smoke test passed"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# What to try

cat <<EOF

────────────────────────────────────────────────────────────────────────────────
 Earshot demo is running

   Console     $URL/       (the operator console: sign in with the login below)
   Controller  $URL        (API docs: $URL/openapi.json)
   Login       username: $DEMO_USER   password: $DEMO_PASSWORD
   Node        $NODE_ID (site $DEMO_SITE), capturing a 1 kHz sine at -20 dBFS
   Logs        $LOG_DIR/{controller,agent,pulseaudio}.log
EOF
[[ -n "$agent_note" ]] && printf '\n   NOTE: %s\n' "$agent_note"
cat <<EOF

 Try it in another terminal (bash; node stands in for jq):

   URL=$URL
   json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=new Function("j","return ("+process.argv[1]+")")(JSON.parse(s));console.log(typeof v==="string"?v:JSON.stringify(v,null,2))})' "\$1"; }

   # log in: a session token to use as a Bearer token
   TOKEN=\$(curl -s -X POST \$URL/api/v1/auth/login -H 'content-type: application/json' \\
     -d '{"username":"$DEMO_USER","password":"$DEMO_PASSWORD"}' | json j.data.token)

   # start a 5 s recording on the demo node
   REC=\$(curl -s -X POST \$URL/api/v1/recordings -H "authorization: Bearer \$TOKEN" \\
     -H 'content-type: application/json' -d '{"nodeId":"$NODE_ID","durationSeconds":5,"title":"first take"}' | json j.data.id)

   # list recordings; wait until it is "completed" (recorded and uploaded, ~10 s)
   curl -s \$URL/api/v1/recordings -H "authorization: Bearer \$TOKEN" \\
     | json 'j.data.map((r) => [r.id, r.state, r.title, r.sizeBytes + " bytes"].join("  ")).join("\\n")'
   curl -s \$URL/api/v1/recordings/\$REC -H "authorization: Bearer \$TOKEN" | json j.data.state

   # download it and check the SHA-256 the controller reports
   curl -s -o take.wav \$URL/api/v1/recordings/\$REC/file -H "authorization: Bearer \$TOKEN"
   curl -s \$URL/api/v1/recordings/\$REC -H "authorization: Bearer \$TOKEN" | json j.data.sha256
   sha256sum take.wav
   sox take.wav -n stats      # peak -20 dBFS, RMS -23 dB: the tone that was played

   # a schedule: daily, first in one to two minutes (UTC), 10 s; it records even with the controller stopped
   START=\$(date -u -d '+2 min' +%Y-%m-%dT%H:%M)
   curl -s -X POST \$URL/api/v1/schedules -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
     -d "{\"name\":\"daily demo\",\"recurrence\":\"RRULE:FREQ=DAILY\",\"timeZone\":\"UTC\",\"start\":\"\$START\",\"durationSeconds\":10,\"targets\":[{\"nodeId\":\"$NODE_ID\"}]}" \\
     | json j.data.nextOccurrence

   # live meters (10 Hz), Ctrl-C to stop
   curl -N "\$URL/api/v1/meter-events?nodeId=$NODE_ID" -H "authorization: Bearer \$TOKEN"

 Ctrl-C here stops everything. Data stays in $DEMO_DIR (rm -rf it to start afresh).
────────────────────────────────────────────────────────────────────────────────
EOF

# Run until Ctrl-C, or until the controller or agent dies.
while :; do
  sleep 1 &
  wait $! || true
  for name in controller agent; do
    [[ -f "$RUN_DIR/$name.pid" ]] || continue
    pid=$(<"$RUN_DIR/$name.pid")
    if ! pid_alive "$pid"; then
      tail -n 30 "$LOG_DIR/$name.log" >&2
      die "the $name exited unexpectedly (log above: $LOG_DIR/$name.log)"
    fi
  done
done
