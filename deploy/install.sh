#!/usr/bin/env bash
# Installs the Phi Edge Agent as a systemd service. Idempotent: run it again to upgrade the jar, the model
# or the unit; an existing /etc/edge-agent/config.yaml or tinylog.properties is never overwritten (the new
# template is put beside it as *.new).
#
#   sudo deploy/install.sh [--model FILE] [--config FILE] [--jar FILE] [--java-home DIR]
#                          [--prefix DIR] [--dry-run] [--no-systemd]
#
# Layout (under --prefix, default /):
#   /opt/edge-agent/edge-agent.jar          the agent (build: ./mvnw -pl agent -am package -DskipTests)
#   /opt/edge-agent/java -> JAVA_HOME        the Java 25 runtime the unit starts
#   /opt/edge-agent/models/NAME.gguf         the model; models/current.gguf links to it
#   /etc/edge-agent/config.yaml              the configuration (from --config, first install only)
#   /etc/edge-agent/tinylog.properties       rolling-file logging (deploy/config/tinylog-device.properties)
#   /etc/systemd/system/edge-agent.service   the hardened unit (deploy/systemd/edge-agent.service)
#   /var/lib/edge-agent, /var/log/edge-agent state and logs, owned by the edge-agent user
#
# With --prefix other than /, files are staged under it and nothing on the host changes: no user, no group,
# no ownership, no systemctl. --dry-run prints every step and changes nothing at all.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

prefix="/"
dry_run=0
use_systemd=1
jar="$repo/agent/target/edge-agent.jar"
model="$repo/samples/models/phi3-edge-demo.Q4_0.gguf"
config="$here/config/raspberry-pi-5.yaml"
java_home=""
service_user="edge-agent"

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a folder"; prefix="$2"; shift 2 ;;
    --model) [ $# -ge 2 ] || die "--model needs a file"; model="$2"; shift 2 ;;
    --config) [ $# -ge 2 ] || die "--config needs a file"; config="$2"; shift 2 ;;
    --jar) [ $# -ge 2 ] || die "--jar needs a file"; jar="$2"; shift 2 ;;
    --java-home) [ $# -ge 2 ] || die "--java-home needs a folder"; java_home="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --no-systemd) use_systemd=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

# Paths on the target system, and where they are written (the same unless --prefix is given).
prefix="${prefix%/}"
on_host=0
[ -z "$prefix" ] && on_host=1
opt="/opt/edge-agent"
etc="/etc/edge-agent"
unit="/etc/systemd/system/edge-agent.service"
state="/var/lib/edge-agent"
logs="/var/log/edge-agent"

say() {
  echo "==> $*"
}

# Runs a command, or only shows it with --dry-run.
run() {
  if [ "$dry_run" -eq 1 ]; then
    printf '    (dry run)'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# Copies SRC to DEST with MODE unless DEST already has the same bytes.
copy() {
  local src="$1" dest="$2" mode="$3"
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    echo "    unchanged: $dest"
  else
    echo "    install: $dest"
    run install -m "$mode" "$src" "$dest"
  fi
}

# Installs a template that the administrator edits: never over an existing file.
copy_once() {
  local src="$1" dest="$2" mode="$3"
  if [ ! -e "$dest" ]; then
    echo "    install: $dest"
    run install -m "$mode" "$src" "$dest"
  elif cmp -s "$src" "$dest"; then
    echo "    unchanged: $dest"
  else
    echo "    kept your $dest; the new template is $dest.new"
    run install -m "$mode" "$src" "$dest.new"
  fi
}

java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1
}

# --- checks before anything changes -------------------------------------------------------------
[ -f "$jar" ] || die "no agent jar at $jar (build it: ./mvnw -pl agent -am package -DskipTests, or pass --jar)"
[ -f "$model" ] || die "no model at $model (pass --model FILE.gguf)"
[ -f "$config" ] || die "no configuration template at $config (pass --config FILE)"
case "$model" in *.gguf) ;; *) die "the model must be a .gguf file: $model" ;; esac
if [ "$on_host" -eq 1 ] && [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "installing on this system needs root (sudo), or use --prefix DIR or --dry-run"
fi

if [ -z "$java_home" ]; then
  if [ -n "${JAVA_HOME:-}" ]; then
    java_home="$JAVA_HOME"
  elif command -v java >/dev/null 2>&1; then
    java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  fi
fi
if [ -z "$java_home" ] || [ ! -x "$java_home/bin/java" ]; then
  die "no Java found${java_home:+ at $java_home}: install a Java 25 runtime and pass --java-home DIR"
fi
major="$(java_major "$java_home")"
if [ -z "$major" ] || [ "${major%%.*}" -lt 25 ]; then
  die "$java_home is Java ${major:-unknown}; the agent needs Java 25 or newer (pass --java-home DIR)"
fi

model_name="$(basename "$model")"
say "Installing Phi Edge Agent under ${prefix:-/} $([ "$dry_run" -eq 1 ] && echo '(dry run: nothing changes)')"
echo "    jar $jar"
echo "    model $model"
echo "    config template $config"
echo "    Java $major at $java_home"

# --- user and groups (on this system only) -----------------------------------------------------
if [ "$on_host" -eq 1 ]; then
  say "Service user and groups"
  if getent group gpio >/dev/null 2>&1; then
    echo "    group gpio exists"
  else
    echo "    creating group gpio (the unit's SupplementaryGroups needs it, even without GPIO)"
    run groupadd --system gpio
  fi
  if id -u "$service_user" >/dev/null 2>&1; then
    echo "    user $service_user exists"
  else
    echo "    creating system user $service_user"
    run useradd --system --user-group --home-dir "$state" --no-create-home --shell /usr/sbin/nologin \
      --comment "Phi Edge Agent" "$service_user"
  fi
else
  say "Staging under $prefix: no user, group, ownership or systemctl changes"
fi

# --- files ---------------------------------------------------------------------------------------
say "Folders"
for dir in "$opt" "$opt/models" "$etc" "$state" "$logs" "$(dirname "$unit")"; do
  run install -d -m 0755 "$prefix$dir"
done

say "Agent, Java link and model"
copy "$jar" "$prefix$opt/edge-agent.jar" 0644
run ln -sfn "$java_home" "$prefix$opt/java"
copy "$model" "$prefix$opt/models/$model_name" 0644
run ln -sfn "$model_name" "$prefix$opt/models/current.gguf"
if [ -f "$repo/deploy/README.md" ]; then
  copy "$repo/deploy/README.md" "$prefix$opt/README.md" 0644
fi

say "Configuration"
copy_once "$config" "$prefix$etc/config.yaml" 0640
copy_once "$here/config/tinylog-device.properties" "$prefix$etc/tinylog.properties" 0640

say "systemd unit"
copy "$here/systemd/edge-agent.service" "$prefix$unit" 0644

if [ "$on_host" -eq 1 ]; then
  say "Ownership"
  run chown root:"$service_user" "$etc" "$etc/config.yaml" "$etc/tinylog.properties"
  run chmod 0750 "$etc"
  run chown "$service_user":"$service_user" "$state" "$logs"
  run chmod 0750 "$state" "$logs"

  say "Checking the configuration"
  if [ "$dry_run" -eq 1 ]; then
    echo "    (dry run) $opt/java/bin/java --add-modules jdk.incubator.vector -jar $opt/edge-agent.jar check --config $etc/config.yaml"
  elif ! runuser -u "$service_user" -- "$opt/java/bin/java" --add-modules jdk.incubator.vector -jar "$opt/edge-agent.jar" \
      check --config "$etc/config.yaml"; then
    echo "    the configuration has problems (above): edit $etc/config.yaml, then: systemctl restart edge-agent"
  fi

  if [ "$use_systemd" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
    say "Enabling the service"
    run systemctl daemon-reload
    run systemctl enable edge-agent.service
    if systemctl is-active --quiet edge-agent.service 2>/dev/null; then
      run systemctl restart edge-agent.service
      echo "    restarted edge-agent"
    else
      echo "    start it with: sudo systemctl start edge-agent   (logs: $logs, journalctl -u edge-agent)"
    fi
  fi
fi

say "Done"
