#!/usr/bin/env bash
# Install the Debian packages Earshot's tests need, when any of their commands is missing.
#
#   bash scripts/system-deps.sh          install what is missing (root + apt-get), else print the command and exit 1
#   bash scripts/system-deps.sh --check  only report; exit 1 if anything is missing
#
# Quiet and fast when everything is present. Services the packages ship (postgresql, mosquitto,
# prometheus, redis-server, haproxy) are kept from starting: the tests start their own instances on loopback.
set -euo pipefail

PACKAGES=(sox libsox-fmt-all pulseaudio pulseaudio-utils postgresql mosquitto mosquitto-clients prometheus ffmpeg chromium redis-server haproxy)
SERVICES=(postgresql mosquitto prometheus redis-server haproxy)

check_only=0
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    -h | --help)
      sed -n '2,8p' "$0"
      exit 0
      ;;
    *)
      echo "system-deps: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

# pg_ctl and initdb: on PATH, or in Debian's versioned directory (not on PATH by default).
have_pg_tool() {
  local tool=$1 dir
  command -v "$tool" >/dev/null 2>&1 && return 0
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/$tool" ]] && return 0
  done
  return 1
}

missing_commands() {
  local cmd
  for cmd in sox pulseaudio paplay mosquitto_pub mosquitto_sub promtool ffmpeg chromium redis-server haproxy; do
    command -v "$cmd" >/dev/null 2>&1 || echo "$cmd"
  done
  for cmd in pg_ctl initdb; do
    have_pg_tool "$cmd" || echo "$cmd"
  done
  # sox without libsox-fmt-pulse cannot capture from PulseAudio.
  if command -v sox >/dev/null 2>&1 && ! sox --help 2>/dev/null | grep -qw pulseaudio; then
    echo "sox-pulseaudio-driver"
  fi
  # The console's screenshot baselines are drawn with fonts-dejavu-core's faces (test/support/screenshots.ts).
  [[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || echo "fonts-dejavu-core"
}

# Fonts (no command to look for): what the console's screenshots are drawn with.
PACKAGES+=(fonts-dejavu-core)

missing=$(missing_commands | tr '\n' ' ')
missing=${missing% }
[[ -z "$missing" ]] && exit 0

if [[ $check_only -eq 1 ]]; then
  echo "system-deps: missing: $missing" >&2
  echo "system-deps: install with: sudo apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
  exit 1
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing: $missing" >&2
  echo "system-deps: run this, then try again:" >&2
  echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
  exit 1
fi

echo "system-deps: missing: $missing; installing ${PACKAGES[*]}" >&2

# Keep package maintainer scripts from starting services (they would hold 5432/1883/9090/6379).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\n# temporary, from earshot scripts/system-deps.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() {
  if [[ $created_policy -eq 1 ]]; then rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
apt-get install "${apt_opts[@]}" --no-install-recommends "${PACKAGES[@]}" >/dev/null

# Should anything have started anyway (or be enabled for the next boot), stop and disable it.
for svc in "${SERVICES[@]}"; do
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  elif [[ -x "/etc/init.d/$svc" ]]; then
    "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
  fi
done

still=$(missing_commands | tr '\n' ' ')
still=${still% }
if [[ -n "$still" ]]; then
  echo "system-deps: still missing after install: $still" >&2
  exit 1
fi
echo "system-deps: installed" >&2
