#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2016,SC2054  # ok() never fails; dpkg-query formats and label lists are literal
# The aarch64 proof: the Debian package on a Debian 13 arm64 system under qemu-user emulation, where the JVM's
# C2 compiles the Vector API to real aarch64 NEON code (emulated speed means nothing; the results are real).
#
#   sudo scripts/arm64-check.sh [--cache DIR] [--deb FILE] [--fast] [--keep] [--rebuild-root]
#
#   --cache DIR     where the arm64 root is built once and kept (default: ~/.cache/phiedge-arm64)
#   --deb FILE      the package to install (default: scripts/package-deb.sh --no-build)
#   --fast          the part CI runs when time is short: no cortex-a72 selftest, one event per route
#   --keep          leave the run's root mounted at CACHE/run/root for a look (umount it yourself)
#   --rebuild-root  build the cached root again
#
# Steps (each timed):
#  1. root: debootstrap --arch=arm64 --variant=minbase --include=openjdk-25-jre-headless trixie, then
#     mosquitto, mosquitto-clients and adduser from Debian (cached; about 4 min and 531 MB the first time).
#     Every run works on an overlay of it, thrown away at the end.
#  2. apt-get install ./edge-agent_*.deb (its Depends, openjdk-25-jre-headless:arm64 and adduser, come from
#     the root's Debian); the user, folders and conffile modes postinst makes.
#  3. edge-agent model pull of the demo model from an nginx on the host (loopback), with its SHA-256: the
#     models folder, current.gguf and ownership as on a board.
#  4. edge-agent check on the packaged /etc/edge-agent/config.yaml, as the service user.
#  5. phi3 selftest under QEMU_CPU=cortex-a76 (the Pi 5's core: NEON, no SVE, MaxVectorSize=16): every
#     kernel against the scalar ground truth after C2 compiled it; and under cortex-a72 (the Pi 4's core).
#  6. The demo model's answers for examples.jsonl events (phi3 classify / generate): the expected answers,
#     the reference prompt ids, and output identical to x86's at -XX:MaxVectorSize=16 (ids, text, logits).
#  7. One event end to end: arm64 mosquitto in the root, the agent run as its service user, mosquitto_pub
#     and mosquitto_sub; then SIGTERM and a clean stop.
#  8. Upgrade to a newer version of the package (an edited config.yaml stays), then purge (state, models,
#     logs and configuration gone; the user stays).
# Needs root, binfmt_misc and Debian's mirror; installs qemu-user-static, binfmt-support and debootstrap
# when they are missing. Exit status 0 when every check passed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${HOME:-/root}/.cache/phiedge-arm64"
deb=""
fast=0
keep=0
rebuild=0
mirror="${PHIEDGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache="$2"; shift 2 ;;
    --deb) deb="$2"; shift 2 ;;
    --fast) fast=1; shift ;;
    --keep) keep=1; shift ;;
    --rebuild-root) rebuild=1; shift ;;
    -h | --help) sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "arm64-check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

t_start=$(date +%s)
t_step=$t_start
failures=0
summary=()
step() {
  local now; now=$(date +%s)
  [ ${#summary[@]} -eq 0 ] || summary[-1]="${summary[-1]} ($((now - t_step)) s)"
  t_step=$now
  summary+=("$*")
  echo
  echo "==> $* [$((now - t_start)) s]"
}
ok() { echo "  ok   $*"; }
fail() { echo "  FAIL $*"; failures=$((failures + 1)); }
die() { echo "arm64-check.sh: $*" >&2; exit 1; }
# field NAME LINE: a string field of an examples.jsonl line
field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" <<<"$2"; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount, binfmt_misc): sudo $0"
[ "$(uname -m)" = x86_64 ] || echo "note: this host is $(uname -m), not x86_64"

# --- tools and binfmt_misc ------------------------------------------------------------------------
step "qemu-user-static, binfmt_misc"
missing=()
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v update-binfmts >/dev/null || missing+=(binfmt-support)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "  installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc (a container without it cannot run arm64 binaries)"
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
binfmt=/proc/sys/fs/binfmt_misc/qemu-aarch64
[ -f "$binfmt" ] && grep -q '^enabled' "$binfmt" || die "binfmt_misc has no enabled qemu-aarch64 entry (update-binfmts --enable qemu-aarch64 failed)"
grep -q '^flags:.*F' "$binfmt" || die "the qemu-aarch64 binfmt entry lacks the F flag: chroot cannot run arm64 binaries ($(grep flags "$binfmt"))"
ok "$(qemu-aarch64-static --version | head -n1); binfmt $(grep '^flags' "$binfmt")"

# --- 1. the cached Debian 13 arm64 root ------------------------------------------------------------
base="$cache/trixie-arm64"
step "1. Debian 13 arm64 root (cached in $base)"
mkdir -p "$cache"
if [ "$rebuild" -eq 1 ]; then rm -rf "$base" "$base.ok"; fi
if [ ! -f "$base.ok" ]; then
  rm -rf "$base.tmp"
  t0=$(date +%s)
  debootstrap --arch=arm64 --variant=minbase --include=openjdk-25-jre-headless trixie "$base.tmp" "$mirror" > "$cache/debootstrap.log" 2>&1 \
    || { tail -n 20 "$cache/debootstrap.log"; die "debootstrap failed (log: $cache/debootstrap.log)"; }
  t1=$(date +%s)
  # no service starts in the root while packages install (mosquitto's postinst would start a broker)
  printf '#!/bin/sh\nexit 101\n' > "$base.tmp/usr/sbin/policy-rc.d"
  chmod 0755 "$base.tmp/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$base.tmp/etc/resolv.conf"
  mount -t proc proc "$base.tmp/proc"
  if ! chroot "$base.tmp" /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq mosquitto mosquitto-clients adduser && apt-get clean' \
      > "$cache/apt.log" 2>&1; then
    umount "$base.tmp/proc"
    tail -n 20 "$cache/apt.log"
    die "apt-get in the root failed (log: $cache/apt.log)"
  fi
  umount "$base.tmp/proc"
  mv "$base.tmp" "$base"
  echo "debootstrap $(( t1 - t0 )) s, apt $(( $(date +%s) - t1 )) s, $(du -sh "$base" | cut -f1); $(date -u +%F)" > "$base.ok"
fi
ok "root: $(cat "$base.ok"); $(chroot "$base" /usr/bin/java -version 2>&1 | head -n1)"

# --- the run's own copy: an overlay (or a copy where overlayfs is missing) ------------------------------
run="$cache/run"
root="$run/root"
pids=()
nginx_dir=""
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$keep" -eq 0 ]; then
    umount "$root/proc" 2>/dev/null || true
    umount "$root" 2>/dev/null || true
    rm -rf "$run"
  else
    echo "the run's root stays at $root (umount $root/proc $root; rm -rf $run)"
  fi
  [ -z "$nginx_dir" ] || rm -rf "$nginx_dir"
}
trap cleanup EXIT
umount "$root/proc" 2>/dev/null || true
umount "$root" 2>/dev/null || true
rm -rf "$run"
mkdir -p "$run/upper" "$run/work" "$root"
if ! mount -t overlay overlay -o "lowerdir=$base,upperdir=$run/upper,workdir=$run/work" "$root" 2>/dev/null; then
  echo "  (no overlayfs: copying the root)"
  rmdir "$root"
  cp -a "$base" "$root"
fi
mount -t proc proc "$root/proc"
in_root() { chroot "$root" /usr/bin/env QEMU_CPU="${cpu:-cortex-a76}" "$@"; }
# for `in_root_bg CMD &`: the background subshell becomes the command, so $! is its PID (kill reaches it)
in_root_bg() { exec chroot "$root" /usr/bin/env QEMU_CPU="${cpu:-cortex-a76}" "$@"; }

# --- 2. the package, installed with apt ---------------------------------------------------------------
step "2. apt-get install ./edge-agent_*.deb"
if [ -z "$deb" ]; then
  deb="$("$repo/scripts/package-deb.sh" --no-build | tail -n1)"
fi
version="$(dpkg-deb --field "$deb" Version)"
cp "$deb" "$root/tmp/edge-agent.deb"
if in_root /bin/sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/edge-agent.deb' > "$run/install.log" 2>&1; then
  ok "installed $(basename "$deb") ($(grep -c '^Setting up' "$run/install.log") package(s) set up)"
else
  cat "$run/install.log"; die "apt-get install of the package failed"
fi
[ "$(in_root dpkg-query -W -f '${Status} ${Version}' edge-agent)" = "install ok installed $version" ] && ok "dpkg: edge-agent $version installed" || fail "dpkg status"
in_root dpkg-query -W -f '${Version}' openjdk-25-jre-headless >/dev/null && ok "openjdk-25-jre-headless:arm64 $(in_root dpkg-query -W -f '${Version}' openjdk-25-jre-headless)" || fail "no openjdk-25-jre-headless"
in_root getent passwd edge-agent | grep -q ':/var/lib/edge-agent:/usr/sbin/nologin$' && ok "system user edge-agent" || fail "no edge-agent user"
# owners as the root's own passwd and group name them
mode() { in_root stat -c '%U:%G %a' "$1"; }
[ "$(mode /var/lib/edge-agent/models)" = "edge-agent:edge-agent 750" ] && ok "/var/lib/edge-agent/models edge-agent 0750" || fail "models folder: $(mode /var/lib/edge-agent/models)"
[ "$(mode /etc/edge-agent/config.yaml)" = "root:edge-agent 640" ] && ok "/etc/edge-agent/config.yaml root:edge-agent 0640" || fail "config.yaml: $(mode /etc/edge-agent/config.yaml)"
java_found="$(in_root bash -c 'JAVA25_RUNTIME=1; . /usr/share/edge-agent/java25.sh; echo $JAVA_HOME')"
[[ "$java_found" == /usr/lib/jvm/java-25-openjdk-arm64 ]] && ok "the launcher's Java: $java_found" || fail "the launcher found $java_found"

# --- 3. model pull from an nginx on the host ---------------------------------------------------------
step "3. edge-agent model pull (the demo model, from nginx on loopback)"
demo="$repo/samples/models/phi3-edge-demo.Q4_0.gguf"
demo_sha="$(sha256sum "$demo" | cut -d' ' -f1)"
free_port() { local p; while :; do p=$(shuf -i 20000-60000 -n 1); ss -ltn | grep -q ":$p " || { echo "$p"; return; }; done; }
if [ -x /usr/sbin/nginx ]; then
  nginx_dir="$(mktemp -d)"
  http_port=$(free_port)
  mkdir -p "$nginx_dir/www"
  cp "$demo" "$nginx_dir/www/"
  chmod -R a+rX "$nginx_dir"
  cat > "$nginx_dir/nginx.conf" <<EOF
daemon off;
master_process off;
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/error.log;
events { worker_connections 16; }
http { access_log $nginx_dir/access.log; client_body_temp_path $nginx_dir/body; proxy_temp_path $nginx_dir/proxy;
       fastcgi_temp_path $nginx_dir/fastcgi; uwsgi_temp_path $nginx_dir/uwsgi; scgi_temp_path $nginx_dir/scgi;
       server { listen 127.0.0.1:$http_port; root $nginx_dir/www; } }
EOF
  /usr/sbin/nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$nginx_dir/error.log" &
  pids+=($!)
  for _ in $(seq 50); do ss -ltn | grep -q ":$http_port " && break; sleep 0.1; done
  if in_root edge-agent model pull "http://127.0.0.1:$http_port/phi3-edge-demo.Q4_0.gguf" --sha256 "$demo_sha" > "$run/pull.log" 2>&1; then
    ok "pulled: $(grep '^current.gguf' "$run/pull.log")"
  else
    cat "$run/pull.log"; fail "edge-agent model pull"
  fi
else
  echo "  (no nginx on the host, apt-get install nginx-light: the model is copied in instead)"
  cp "$demo" "$root/var/lib/edge-agent/models/"
  ln -sfn phi3-edge-demo.Q4_0.gguf "$root/var/lib/edge-agent/models/current.gguf"
fi
[ "$(readlink "$root/var/lib/edge-agent/models/current.gguf")" = phi3-edge-demo.Q4_0.gguf ] && ok "current.gguf -> phi3-edge-demo.Q4_0.gguf" || fail "current.gguf"
[ "$(mode /var/lib/edge-agent/models/phi3-edge-demo.Q4_0.gguf)" = "edge-agent:edge-agent 644" ] && ok "the model: edge-agent:edge-agent 0644" || fail "the model: $(mode /var/lib/edge-agent/models/phi3-edge-demo.Q4_0.gguf)"

# --- 4. edge-agent check on the packaged configuration ----------------------------------------------
step "4. edge-agent check --config /etc/edge-agent/config.yaml (as edge-agent, cortex-a76)"
if in_root setpriv --reuid=edge-agent --regid=edge-agent --init-groups edge-agent check --config /etc/edge-agent/config.yaml > "$run/check.log" 2>&1 \
    && grep -q '^OK' "$run/check.log"; then
  ok "$(grep '^OK' "$run/check.log" | head -n1 | cut -c1-150)"
else
  cat "$run/check.log"; fail "edge-agent check"
fi

# --- 5. the kernels on aarch64 ------------------------------------------------------------------------
selftest() {
  cpu="$1"
  if in_root phi3 selftest --seconds 40 > "$run/selftest-$1.log" 2>&1; then
    ok "phi3 selftest, $1: $(grep '^OK' "$run/selftest-$1.log")"
  else
    cat "$run/selftest-$1.log"; fail "phi3 selftest under $1"
  fi
  grep -q 'S_128_BIT.*MaxVectorSize=16, UseSVE=0' "$run/selftest-$1.log" && ok "$1: $(grep '^vector species' "$run/selftest-$1.log" | cut -d: -f2- | cut -c1-100)" \
    || fail "$1: not the 128-bit NEON species: $(grep '^vector species' "$run/selftest-$1.log")"
  sed -n '/^type/,/^activations/p' "$run/selftest-$1.log" | sed 's/^/       /'
  cpu=""
}
step "5a. phi3 selftest under QEMU_CPU=cortex-a76 (Pi 5)"
selftest cortex-a76
if [ "$fast" -eq 0 ]; then
  step "5b. phi3 selftest under QEMU_CPU=cortex-a72 (Pi 4)"
  selftest cortex-a72
fi

# --- 6. the demo model's answers, and the same output as x86 at 128 bits ----------------------------------
step "6. the demo model's answers (examples.jsonl) on aarch64 and on x86 at -XX:MaxVectorSize=16"
examples="$repo/../shared/models/demo/examples.jsonl"
[ -f "$examples" ] || examples="$(cd "$repo/.." && pwd)/shared/models/demo/examples.jsonl"
if [ ! -f "$examples" ]; then
  fail "no examples.jsonl (../shared/models/demo/examples.jsonl)"
else
  x86="$run/x86"
  mkdir -p "$x86"
  dpkg-deb -x "$deb" "$x86"
  model=/var/lib/edge-agent/models/current.gguf
  n_each=$([ "$fast" -eq 1 ] && echo 1 || echo 2)
  green_sys="You watch over a greenhouse. Classify each climate reading as normal, warning or critical."
  camera_sys="You describe security camera events in one short sentence."
  while IFS= read -r line; do
    route="$(field route "$line")"
    prompt="$(field user_prompt "$line")"
    expected="$(field expected "$line")"
    ids="$(sed -n 's/.*"prompt_tokens": \[\([^]]*\)\].*/\1/p' <<<"$line" | tr -d ' ')"
    if [ "$route" = greenhouse-climate ]; then
      args=(classify --model "$model" --system "$green_sys" --chat "$prompt" --labels normal,warning,critical --context 512 --threads 2 --json)
    else
      args=(generate --model "$model" --system "$camera_sys" --chat "$prompt" --max-tokens 32 --context 512 --threads 2 --top-logits 5 --json)
    fi
    # the built-in kernel rules on both sides: a measured plan (meaningless under emulation) could pick
    # another kernel than x86's, and the point here is the same kernels at another width
    arm="$(in_root JAVA_OPTS="-XX:+UseSerialGC -XX:LoopUnrollLimit=400 -Dphiedge.kernels=rules" phi3 "${args[@]}" 2>"$run/phi3.err" | sed 's/,"timings":{[^}]*}//')" || { cat "$run/phi3.err"; fail "phi3 ${args[0]} on aarch64"; continue; }
    x86_args=("${args[@]}")
    x86_args[2]="$root$model"
    ref="$(JAVA_OPTS="-XX:+UseSerialGC -XX:LoopUnrollLimit=400 -XX:MaxVectorSize=16 -Dphiedge.kernels=rules" "$x86/usr/bin/phi3" "${x86_args[@]}" 2>/dev/null | sed 's/,"timings":{[^}]*}//')"
    if [ "$route" = greenhouse-climate ]; then
      answer="$(sed -n 's/.*"label":"\([^"]*\)".*/\1/p' <<<"$arm")"
    else
      answer="$(sed -n 's/.*"text":"\([^"]*\)".*/\1/p' <<<"$arm" | sed 's/^ *//; s/ *$//')"
      got_ids="$(sed -n 's/.*"prompt_tokens":\[\([^]]*\)\].*/\1/p' <<<"$arm")"
      [ "$got_ids" = "$ids" ] && ok "prompt ids equal the reference's (${#ids} chars)" || fail "prompt ids: $got_ids, reference $ids"
    fi
    [ "$answer" = "$expected" ] && ok "$route: \"$answer\"" || fail "$route: \"$answer\", expected \"$expected\" ($prompt)"
    [ -n "$ref" ] && [ "$arm" = "$ref" ] && ok "identical to x86 at 128 bits: $(cut -c1-110 <<<"$arm")..." \
      || fail "aarch64 and x86 (-XX:MaxVectorSize=16) differ:\n  arm64 $arm\n  x86   $ref"
  done < <(grep -m "$n_each" '"route": "greenhouse-climate"' "$examples"; grep -m "$n_each" '"route": "camera-events"' "$examples")
fi

# --- 7. one event end to end through an arm64 mosquitto ---------------------------------------------------
step "7. one event end to end: arm64 mosquitto, the agent as edge-agent, mosquitto_pub/sub"
mqtt_port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt_port" > "$root/tmp/mosquitto.conf"
in_root_bg /usr/sbin/mosquitto -c /tmp/mosquitto.conf > "$run/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do ss -ltn | grep -q ":$mqtt_port " && break; sleep 0.2; done
sed -e "s|^  url: tcp://127.0.0.1:1883|  url: tcp://127.0.0.1:$mqtt_port|" -e 's|^device_id: .*|device_id: arm64-check|' \
  "$root/etc/edge-agent/config.yaml" > "$root/etc/edge-agent/e2e.yaml"
chgrp --reference="$root/etc/edge-agent/config.yaml" "$root/etc/edge-agent/e2e.yaml"
chmod 0640 "$root/etc/edge-agent/e2e.yaml"
event="$(grep -m1 '"route": "greenhouse-climate"' "${examples:-/dev/null}" || true)"
topic="$(field topic "$event")"
payload="$(sed -n 's/.*"payload": \({[^}]*}\).*/\1/p' <<<"$event")"
expected="$(field expected "$event")"
status_log="$run/status.log"
in_root_bg mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t edge-agent/arm64-check/status -v > "$status_log" 2>&1 &
pids+=($!)
in_root_bg setpriv --reuid=edge-agent --regid=edge-agent --init-groups env STATE_DIRECTORY=/var/lib/edge-agent \
  JAVA_OPTS="-Xmx128m -XX:+UseSerialGC -XX:LoopUnrollLimit=400 -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData" \
  edge-agent run --config /etc/edge-agent/e2e.yaml > "$run/agent.log" 2>&1 &
agent=$!
pids+=("$agent")
for _ in $(seq 360); do grep -q 'status online' "$status_log" && break; kill -0 "$agent" 2>/dev/null || break; sleep 0.5; done
if grep -q 'status online' "$status_log"; then
  ok "the agent is online ($(( $(date +%s) - t_step )) s after its start under emulation)"
  answer_topic="${topic}/assessment"
  in_root_bg mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t "$answer_topic" -C 1 -W 300 > "$run/answer.log" 2>&1 &
  sub=$!
  sleep 2
  in_root mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -q 1 -t "$topic" -m "$payload"
  if wait "$sub" && grep -q "\"label\":\"$expected\"" "$run/answer.log"; then
    ok "$topic $payload -> $answer_topic: $(cut -c1-160 "$run/answer.log")"
  else
    fail "no answer with label $expected on $answer_topic: $(cat "$run/answer.log")"
  fi
  kill -TERM "$agent"
  if wait "$agent"; then ok "SIGTERM: the agent stopped with status 0"; else fail "the agent's exit status after SIGTERM: $?"; fi
  sleep 1
  grep -q 'status offline' "$status_log" && ok "status offline after the stop" || fail "no offline status: $(cat "$status_log")"
  [ -d "$root/var/lib/edge-agent/store" ] && ok "the store is in /var/lib/edge-agent/store" || fail "no /var/lib/edge-agent/store"
else
  tail -n 30 "$run/agent.log"; fail "the agent did not come online"
fi

# --- 8. upgrade (configuration kept), then purge ---------------------------------------------------------
step "8. upgrade keeps an edited config.yaml; purge removes state, models and logs"
echo "# edited on the device" >> "$root/etc/edge-agent/config.yaml"
newer="$run/newer"
mkdir -p "$newer"
"$repo/scripts/package-deb.sh" --no-build --version "${version}.1" --out "$newer" > /dev/null
cp "$newer"/edge-agent_*_all.deb "$root/tmp/edge-agent-newer.deb"
if in_root /bin/sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/edge-agent-newer.deb' > "$run/upgrade.log" 2>&1; then
  ok "upgraded to $(in_root dpkg-query -W -f '${Version}' edge-agent)"
else
  cat "$run/upgrade.log"; fail "upgrade"
fi
tail -n1 "$root/etc/edge-agent/config.yaml" | grep -q '^# edited on the device$' && ok "config.yaml kept its edit" || fail "config.yaml lost its edit"
[ "$(readlink "$root/var/lib/edge-agent/models/current.gguf")" = phi3-edge-demo.Q4_0.gguf ] && ok "models and current.gguf kept" || fail "models after the upgrade"
if in_root /bin/sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q edge-agent' > "$run/purge.log" 2>&1; then ok "purged"; else cat "$run/purge.log"; fail "purge"; fi
for gone in /var/lib/edge-agent /var/log/edge-agent /usr/share/edge-agent /usr/bin/edge-agent /etc/edge-agent/config.yaml; do
  [ ! -e "$root$gone" ] && ok "gone: $gone" || fail "still there after purge: $gone"
done
[ -e "$root/etc/edge-agent/e2e.yaml" ] && ok "/etc/edge-agent keeps a file the package did not make (e2e.yaml)" || true
in_root getent passwd edge-agent >/dev/null && ok "the edge-agent user stays (Debian practice)" || fail "the user was removed"

step "done"
total=$(( $(date +%s) - t_start ))
echo
for s in "${summary[@]}"; do echo "  $s"; done
echo "==> $failures failure(s), $total s in all"
[ "$failures" -eq 0 ]
