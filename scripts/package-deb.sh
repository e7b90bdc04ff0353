#!/usr/bin/env bash
# Builds the Debian package of the agent: target/deb/edge-agent_<version>_all.deb (architecture all: the
# jars are pure Java; the package depends on openjdk-25-jre-headless, which Debian 13 "trixie" and Raspberry
# Pi OS trixie ship for arm64 and amd64).
#
#   scripts/package-deb.sh [--no-build] [--version VERSION] [--out DIR]
#
#   --no-build         use the jars already built (runtime/target/phi3.jar, agent/target/edge-agent.jar)
#                      instead of running ./mvnw -pl runtime,agent -am package -DskipTests first
#   --version VERSION  the package version (default: the pom's, with ~ for -: 0.1.0-SNAPSHOT -> 0.1.0~SNAPSHOT)
#   --out DIR          where the .deb goes (default: target/deb)
#
# What is in it (scripts/deb-check.sh checks it):
#   /usr/bin/edge-agent, /usr/bin/phi3          launchers; they find Java 25 as ./mvnw does (java25.sh)
#   /usr/share/edge-agent/{edge-agent,phi3}.jar the agent (shaded) and the runtime's command line
#   /usr/share/edge-agent/java25.sh             scripts/java25.sh, run as JAVA25_RUNTIME=1 (a JRE is enough)
#   /etc/edge-agent/config.yaml                 conffile: deploy/config/raspberry-pi-5.yaml, models under
#                                               /var/lib/edge-agent/models, the gpio section commented out
#   /etc/edge-agent/tinylog.properties          conffile: deploy/config/tinylog-device.properties
#   /usr/lib/systemd/system/edge-agent.service  deploy/systemd/edge-agent.service, ExecStart=/usr/bin/edge-agent
#   /usr/share/doc/edge-agent/                  copyright, changelog, the deploy guide, board examples
#   /usr/share/man/man1/{edge-agent,phi3}.1.gz  the commands' --help as manual pages
# md5sums cover every file but the conffiles (dpkg keeps their sums itself).
# Maintainer scripts (deploy/debian/): postinst creates the edge-agent system user, the gpio group and
# /var/lib/edge-agent{,/models}, /var/log/edge-agent; the service is not enabled by the package; purge
# removes state, models and logs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build=1
version=""
out="$root/target/deb"
maintainer="${PHIEDGE_DEB_MAINTAINER:-Phi Edge Agent maintainers <maintainers@phiedge.dev>}"

die() {
  echo "package-deb.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --version) [ $# -ge 2 ] || die "--version needs a value"; version="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a folder"; out="$2"; shift 2 ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done

command -v dpkg-deb >/dev/null || die "dpkg-deb is needed (Debian: apt-get install dpkg)"
. "$root/scripts/java25.sh"

if [ -z "$version" ]; then
  pom_version="$(sed -n 's:^  <version>\(.*\)</version>$:\1:p' "$root/pom.xml" | head -n1)"
  [ -n "$pom_version" ] || die "no <version> in $root/pom.xml"
  version="${pom_version//-/\~}"
fi
case "$version" in
  [0-9]*) ;;
  *) die "a Debian version starts with a digit: $version" ;;
esac

if [ "$build" -eq 1 ]; then
  echo "==> Building the jars (./mvnw -pl runtime,agent -am package -DskipTests)"
  (cd "$root" && ./mvnw -q -B -ntp -pl runtime,agent -am package -DskipTests)
fi
agent_jar="$root/agent/target/edge-agent.jar"
phi3_jar="$root/runtime/target/phi3.jar"
[ -f "$agent_jar" ] || die "no $agent_jar (build it, or leave out --no-build)"
[ -f "$phi3_jar" ] || die "no $phi3_jar (build it, or leave out --no-build)"

# Reproducible: every date is the last commit's (or SOURCE_DATE_EPOCH's).
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH="$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)"
fi
export SOURCE_DATE_EPOCH
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"

stage="$(mktemp -d "${TMPDIR:-/tmp}/edge-agent-deb.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/edge-agent"
install -d -m 0755 "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/share/edge-agent" "$pkg/etc/edge-agent" \
  "$pkg/usr/lib/systemd/system" "$pkg/usr/share/doc/edge-agent/examples" "$pkg/usr/share/man/man1"

# --- launchers, jars, the Java finder ------------------------------------------------------------
install -m 0755 "$root/deploy/debian/edge-agent" "$pkg/usr/bin/edge-agent"
install -m 0755 "$root/deploy/debian/phi3" "$pkg/usr/bin/phi3"
install -m 0644 "$agent_jar" "$pkg/usr/share/edge-agent/edge-agent.jar"
install -m 0644 "$phi3_jar" "$pkg/usr/share/edge-agent/phi3.jar"
install -m 0644 "$root/scripts/java25.sh" "$pkg/usr/share/edge-agent/java25.sh"

# --- configuration ---------------------------------------------------------------------------------
# A board template for the package: its header up to the line about install.sh, then NOTE; models in
# /var/lib/edge-agent/models.
adapt_config() {
  local template="$1" note="$2"
  awk -v note="$note" '
    header && /^#/ && !/install\.sh/ { print; next }
    header { header = 0; print note; if ($0 ~ /^#/) { skipping = 1; next } }
    skipping && /^#/ { next }
    { skipping = 0; print }
    BEGIN { header = 1 }
  ' "$template" | sed -e 's|/opt/edge-agent/models/current.gguf *# install.sh links it to the model you install|/var/lib/edge-agent/models/current.gguf   # edge-agent model pull points it at the model it fetched|' \
                      -e 's|/opt/edge-agent/models/current.gguf|/var/lib/edge-agent/models/current.gguf|'
}
conf_note="# /etc/edge-agent/config.yaml of the Debian package, from deploy/config/raspberry-pi-5.yaml. Fetch a model,
# edit this file, check it, then start the service:
#   sudo edge-agent model pull phi-3-mini-4k-q4      (edge-agent model list: the catalogue)
#   sudoedit /etc/edge-agent/config.yaml
#   sudo -u edge-agent edge-agent check --config /etc/edge-agent/config.yaml
#   sudo systemctl enable --now edge-agent
# Upgrades keep your edits. Templates for other boards: /usr/share/doc/edge-agent/examples/."
adapt_config "$root/deploy/config/raspberry-pi-5.yaml" "$conf_note" | awk '
  /^gpio:/ { off = 1; print "# GPIO is off in the packaged configuration: uncomment this section (the Pi 5 template'"'"'s example"; print "# wiring: check the pins first) to drive outputs from the model'"'"'s answers." }
  off { print ($0 ~ /^$/ ? "#" : "# " $0); next }
  { print }
' > "$pkg/etc/edge-agent/config.yaml"
chmod 0644 "$pkg/etc/edge-agent/config.yaml"
install -m 0644 "$root/deploy/config/tinylog-device.properties" "$pkg/etc/edge-agent/tinylog.properties"
sed -i 's|^# install.sh puts it at /etc/edge-agent/tinylog.properties|# The Debian package installs it as /etc/edge-agent/tinylog.properties|' "$pkg/etc/edge-agent/tinylog.properties"
for board in raspberry-pi-5 jetson-orin; do
  adapt_config "$root/deploy/config/$board.yaml" "# An example for /etc/edge-agent/config.yaml (from deploy/config/$board.yaml); models are in
# /var/lib/edge-agent/models. Every key is described in the project's samples/config/example.yaml." \
    > "$pkg/usr/share/doc/edge-agent/examples/$board.yaml"
  chmod 0644 "$pkg/usr/share/doc/edge-agent/examples/$board.yaml"
done
if grep -n '/opt/edge-agent\|install\.sh' "$pkg/etc/edge-agent/config.yaml" "$pkg/usr/share/doc/edge-agent/examples/"*.yaml; then
  die "a configuration template still names /opt/edge-agent or install.sh (above): update the adaptation in this script"
fi

# --- the unit: deploy/systemd/edge-agent.service with the package's paths -------------------------
# ExecStart runs the launcher; the unit's JVM options (all but the two module options, which the launcher
# adds) become its JAVA_OPTS.
awk '
  BEGIN { header = 1 }
  header && /^#/ { next }
  header {
    header = 0
    print "# Phi Edge Agent as a hardened systemd service, from the Debian package (deploy/systemd/edge-agent.service"
    print "# with the package'"'"'s paths). Not enabled by the package: sudo systemctl enable --now edge-agent."
    print "# Local changes belong in a drop-in: systemctl edit edge-agent (e.g. a larger MemoryMax for a larger model)."
  }
  /^Documentation=/ { print "Documentation=man:edge-agent(1) file:/usr/share/doc/edge-agent/README.md.gz"; next }
  /^ExecStart=/ { exec = 1; cmd = "" }
  exec {
    line = $0; sub(/\\$/, "", line); cmd = cmd " " line
    if ($0 ~ /\\$/) next
    exec = 0
    n = split(cmd, w, /[ \t]+/); opts = ""; take = 0
    for (i = 1; i <= n; i++) {
      if (w[i] == "-jar") break
      if (take) opts = opts (opts == "" ? "" : " ") w[i]
      if (w[i] == "--enable-native-access=ALL-UNNAMED") take = 1
    }
    print "Environment=\"JAVA_OPTS=" opts "\""
    print "ExecStart=/usr/bin/edge-agent run --config /etc/edge-agent/config.yaml"
    next
  }
  { print }
' "$root/deploy/systemd/edge-agent.service" \
  | sed -e 's|(install.sh creates the group where it is missing)|(the package creates the group where it is missing)|' \
        -e 's|^# /opt/edge-agent/java links to a Java 25 runtime (install.sh --java-home)\.|# /usr/bin/edge-agent runs Java 25 (found by java25.sh) with JAVA_OPTS.|' \
  > "$pkg/usr/lib/systemd/system/edge-agent.service"
chmod 0644 "$pkg/usr/lib/systemd/system/edge-agent.service"
unit="$pkg/usr/lib/systemd/system/edge-agent.service"
grep -q '^ExecStart=/usr/bin/edge-agent run --config /etc/edge-agent/config.yaml$' "$unit" || die "the unit's ExecStart was not adapted"
grep -q '^Environment="JAVA_OPTS=.*-Dtinylog.configuration=/etc/edge-agent/tinylog.properties' "$unit" || die "the unit's JVM options were not carried over"
grep -q '^StateDirectory=edge-agent$' "$unit" || die "the unit has no StateDirectory=edge-agent"
if grep -n '/opt/edge-agent\|install\.sh' "$unit"; then
  die "the unit still names /opt/edge-agent or install.sh (above): update the adaptation in this script"
fi

# --- documentation -------------------------------------------------------------------------------------
install -m 0644 "$root/deploy/debian/copyright" "$pkg/usr/share/doc/edge-agent/copyright"
gzip -9n < "$root/deploy/README.md" > "$pkg/usr/share/doc/edge-agent/README.md.gz"
{
  echo "edge-agent ($version) unstable; urgency=medium"
  echo
  echo "  * Built from commit $commit of the Phi Edge Agent repository."
  echo
  echo " -- $maintainer  $(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$pkg/usr/share/doc/edge-agent/changelog.gz"

# Manual pages: each command's --help, as the jar prints it.
manpage() {
  local name="$1" jar="$2" summary="$3"
  {
    printf '.TH %s 1 "%s" "edge-agent %s" "User Commands"\n' "${name^^}" "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)" "$version"
    printf '.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n.nf\n' "$name" "$summary"
    java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar "$jar" --help 2>/dev/null \
      | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    printf '.fi\n.SH FILES\n.nf\n'
    printf '/etc/edge-agent/config.yaml        the agent'"'"'s configuration\n'
    printf '/var/lib/edge-agent/models         models; current.gguf is the one in use\n'
    printf '/var/lib/edge-agent/store          accepted events and unacknowledged results\n'
    printf '/usr/share/doc/edge-agent/         the deploy guide (README.md.gz) and board examples\n'
    printf '.fi\n.SH SEE ALSO\n%s(1)\n' "$([ "$name" = phi3 ] && echo edge-agent || echo phi3)"
  } | gzip -9n > "$pkg/usr/share/man/man1/$name.1.gz"
}
manpage edge-agent "$agent_jar" "MQTT events in, the answers of a local Phi-3 model out"
manpage phi3 "$phi3_jar" "the Phi-3 runtime's command line: models, generation, kernel self-test"

# --- control ---------------------------------------------------------------------------------------
install -m 0755 "$root/deploy/debian/postinst" "$root/deploy/debian/prerm" "$root/deploy/debian/postrm" "$pkg/DEBIAN/"
printf '/etc/edge-agent/config.yaml\n/etc/edge-agent/tinylog.properties\n' > "$pkg/DEBIAN/conffiles"
installed_size="$(du -s -k --exclude=DEBIAN "$pkg" | cut -f1)"
cat > "$pkg/DEBIAN/control" <<EOF
Package: edge-agent
Version: $version
Architecture: all
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: openjdk-25-jre-headless, adduser
Suggests: mosquitto
Section: net
Priority: optional
Description: MQTT events in, answers of a local Phi-3 model out
 The Phi Edge Agent subscribes to MQTT topics, renders each event into a prompt
 for a Phi-3 language model that runs on the device itself (a memory-mapped
 GGUF file, run in pure Java with the Vector API), and publishes the model's
 answer: a label with its probability, or a short text.
 .
 This package holds the agent (edge-agent, a systemd service run by its own
 user) and the runtime's command line (phi3). Models are fetched, checked and
 switched with "edge-agent model pull"; "phi3 selftest" checks the CPU's vector
 kernels.
EOF
(cd "$pkg" && find . \( -path ./DEBIAN -o -path ./etc \) -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums"
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb="$out/edge-agent_${version}_all.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
