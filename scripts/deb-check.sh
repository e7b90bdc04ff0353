#!/usr/bin/env bash
# shellcheck disable=SC2015  # ok() never fails: `A && ok || fail` is an if-then-else here
# Checks the Debian package against what issue 14 asks of it (not against the packaging script's own
# output): control fields, conffiles, the file list, the maintainer scripts and the unit; then unpacks it
# (dpkg-deb -x) into a throwaway folder and runs both launchers from there (--help, the Java finder with a
# JRE-only and an old JAVA_HOME, and `edge-agent check` on the packaged configuration pointed at the demo
# model); then lintian, when installed, and only its errors fail the check. Installing, upgrading and
# purging with apt on a real Debian 13 is scripts/arm64-check.sh's part.
#
#   scripts/deb-check.sh [--deb FILE] [--build]
#
#   --deb FILE  the package to check (default: build it with scripts/package-deb.sh --no-build)
#   --build     build the jars too (scripts/package-deb.sh without --no-build)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deb=""
build_flag=--no-build
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb="$2"; shift 2 ;;
    --build) build_flag=""; shift ;;
    -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deb-check.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

failures=0
ok() { echo "  ok   $*"; }
fail() { echo "  FAIL $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi
}

start=$(date +%s)
if [ -z "$deb" ]; then
  # shellcheck disable=SC2086
  deb="$("$root/scripts/package-deb.sh" $build_flag | tail -n1)"
fi
echo "==> $deb"
work="$(mktemp -d "${TMPDIR:-/tmp}/deb-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- the file name and the control fields -------------------------------------------------------
case "$(basename "$deb")" in
  edge-agent_[0-9]*_all.deb) ok "file name edge-agent_<version>_all.deb" ;;
  *) fail "file name $(basename "$deb") is not edge-agent_<version>_all.deb" ;;
esac
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = edge-agent ] && ok "Package: edge-agent" || fail "Package: $(field Package)"
[ "$(field Architecture)" = all ] && ok "Architecture: all" || fail "Architecture: $(field Architecture)"
deb_version="$(field Version)"
[ "$(basename "$deb")" = "edge-agent_${deb_version}_all.deb" ] && ok "Version $deb_version is the file name's" \
  || fail "Version $deb_version differs from the file name"
depends="$(field Depends)"
case ", $depends," in
  *", openjdk-25-jre-headless,"* | *", openjdk-25-jre-headless "*) ok "Depends: openjdk-25-jre-headless ($depends)" ;;
  *) fail "Depends lacks openjdk-25-jre-headless: $depends" ;;
esac
case ", $depends," in
  *", adduser,"* | *", passwd,"*) ok "Depends names the tool postinst creates the user with" ;;
  *) fail "Depends names neither adduser nor passwd: $depends" ;;
esac
[[ "$(field Maintainer)" =~ ^.+\ \<[^@]+@[^@]+\>$ ]] && ok "Maintainer: NAME <EMAIL>" || fail "Maintainer: $(field Maintainer)"
[ -n "$(field Description)" ] && ok "Description" || fail "no Description"

# --- conffiles -----------------------------------------------------------------------------------
mkdir "$work/control"
dpkg-deb --control "$deb" "$work/control"
expected_conffiles=$'/etc/edge-agent/config.yaml\n/etc/edge-agent/tinylog.properties'
[ "$(sort "$work/control/conffiles")" = "$expected_conffiles" ] && ok "conffiles: config.yaml, tinylog.properties" \
  || fail "conffiles: $(tr '\n' ' ' < "$work/control/conffiles")"

# --- the file list: what the issue asks for, with modes ------------------------------------------
dpkg-deb --contents "$deb" | awk '{ sub(/^\.\//, "/", $6); print $1, $6 }' | sort -k2 > "$work/contents"
while read -r mode path; do
  if grep -qx -- "$mode $path" "$work/contents"; then ok "$mode $path"; else fail "$mode $path missing ($(grep -- " $path\$" "$work/contents" || echo absent))"; fi
done <<'EOF'
-rwxr-xr-x /usr/bin/edge-agent
-rwxr-xr-x /usr/bin/phi3
-rw-r--r-- /usr/share/edge-agent/edge-agent.jar
-rw-r--r-- /usr/share/edge-agent/phi3.jar
-rw-r--r-- /usr/share/edge-agent/java25.sh
-rw-r--r-- /etc/edge-agent/config.yaml
-rw-r--r-- /etc/edge-agent/tinylog.properties
-rw-r--r-- /usr/lib/systemd/system/edge-agent.service
-rw-r--r-- /usr/share/doc/edge-agent/copyright
-rw-r--r-- /usr/share/doc/edge-agent/changelog.gz
EOF
if dpkg-deb --contents "$deb" | awk '{print $2}' | grep -qv '^root/root$'; then fail "files not owned by root/root"; else ok "every file root/root"; fi
if grep -E ' /(opt|home|tmp|var)/' "$work/contents" >/dev/null; then fail "files under /opt, /home, /tmp or /var: $(grep -E ' /(opt|home|tmp|var)/' "$work/contents" | tr '\n' ' ')"; else ok "nothing under /opt, /var, /home, /tmp (state is made by postinst and systemd)"; fi

# --- maintainer scripts --------------------------------------------------------------------------
for script in postinst prerm postrm; do
  f="$work/control/$script"
  if [ ! -x "$f" ]; then fail "$script missing or not executable"; continue; fi
  check "$script: sh -n" sh -n "$f"
  check "$script: set -e" grep -q '^set -e' "$f"
  if command -v shellcheck >/dev/null; then check "$script: shellcheck" shellcheck -s sh "$f"; fi
done
# continuation lines joined, comments dropped
code() { sed -e '/^[[:space:]]*#/d' "$work/control/$1" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta'; }
check "postinst creates a system user edge-agent" bash -c "grep -Eq '(adduser|useradd) --system.* edge-agent\$' <<<\"\$1\"" _ "$(code postinst)"
check "postinst makes /var/lib/edge-agent/models" grep -q '/var/lib/edge-agent/models' "$work/control/postinst"
check "postinst does not enable or start the service" bash -c "! grep -Eq 'enable|(invoke|systemctl) +start' <<<\"\$1\"" _ "$(code postinst)"
check "postrm purge removes /var/lib/edge-agent" grep -Eq 'rm -rf .*/var/lib/edge-agent' "$work/control/postrm"
check "postrm purge removes /var/log/edge-agent" grep -Eq 'rm -rf .*/var/log/edge-agent' "$work/control/postrm"
check "postrm purge removes /var/cache/edge-agent (the kernel plan)" grep -Eq 'rm -rf .*/var/cache/edge-agent' "$work/control/postrm"
check "prerm stops the service on remove" grep -q 'stop edge-agent.service' "$work/control/prerm"

# --- the unpacked tree: unit, configuration, launchers ------------------------------------------
tree="$work/root"
dpkg-deb -x "$deb" "$tree"
unit="$tree/usr/lib/systemd/system/edge-agent.service"
for line in 'User=edge-agent' 'StateDirectory=edge-agent' 'LogsDirectory=edge-agent' 'ConfigurationDirectory=edge-agent' \
            'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'CapabilityBoundingSet=' \
            'ExecStart=/usr/bin/edge-agent run --config /etc/edge-agent/config.yaml' 'WantedBy=multi-user.target'; do
  check "unit: $line" grep -qx -- "$line" "$unit"
done
check "unit: JAVA_OPTS selects /etc/edge-agent/tinylog.properties" grep -q '^Environment="JAVA_OPTS=.*-Dtinylog.configuration=/etc/edge-agent/tinylog.properties' "$unit"
check "unit: nothing under /opt" bash -c "! grep -q /opt/ '$unit'"
if command -v systemd-analyze >/dev/null; then
  # systemd-analyze verify needs the unit's user and binary on this system: only the syntax is asked here
  if systemd-analyze verify "$unit" 2>&1 | grep -Ei 'unknown (section|key)|invalid|failed to parse' | grep -v 'RestartSteps\|RestartMaxDelaySec'; then
    fail "unit: systemd-analyze verify reports a syntax problem (above)"
  else
    ok "unit: systemd-analyze verify finds no syntax problem (RestartSteps/RestartMaxDelaySec need systemd 254)"
  fi
fi
conf="$tree/etc/edge-agent/config.yaml"
check "config.yaml: model under /var/lib/edge-agent/models" grep -Eq '^  path: /var/lib/edge-agent/models/current.gguf' "$conf"
check "config.yaml: no active gpio section" bash -c "! grep -q '^gpio:' '$conf'"
check "tinylog.properties: logs to /var/log/edge-agent" grep -q '^writer1.file *= /var/log/edge-agent/' "$tree/etc/edge-agent/tinylog.properties"

# The launchers, run from the unpacked tree (they find the jars beside them, as in /usr/bin).
help_out="$("$tree/usr/bin/edge-agent" --help 2>/dev/null)" && [[ "$help_out" == "usage: edge-agent COMMAND"* ]] \
  && ok "usr/bin/edge-agent --help" || fail "usr/bin/edge-agent --help: $help_out"
help_out="$("$tree/usr/bin/phi3" --help 2>/dev/null)" && [[ "$help_out" == "usage: phi3 COMMAND"* ]] \
  && ok "usr/bin/phi3 --help" || fail "usr/bin/phi3 --help: $help_out"
selftest_out="$("$tree/usr/bin/phi3" selftest --types Q4_0,Q4_K --seconds 1 2>/dev/null)" \
  && [[ "$selftest_out" == *"OK: every kernel matched its scalar ground truth"* ]] \
  && ok "usr/bin/phi3 selftest (Q4_0, Q4_K)" || fail "usr/bin/phi3 selftest: $selftest_out"
# The finder with a runtime only (no javac), as openjdk-25-jre-headless installs it ...
. "$root/scripts/java25.sh"
jre="$work/jre-25"
mkdir -p "$jre/bin"
ln -s "$JAVA_HOME/bin/java" "$jre/bin/java"
ln -s "$JAVA_HOME/lib" "$jre/lib"
ln -s "$JAVA_HOME/conf" "$jre/conf" 2>/dev/null || true
cp "$JAVA_HOME/release" "$jre/release"
found="$(JAVA_HOME="$jre" JAVA25_RUNTIME=1 bash -c ". '$tree/usr/share/edge-agent/java25.sh'; echo \$JAVA_HOME")"
[ "$found" = "$jre" ] && ok "java25.sh (launcher mode) takes a JAVA_HOME without javac" || fail "java25.sh (launcher mode) passed over $jre: $found"
# ... and an older Java in JAVA_HOME is passed over, not run
old="$work/jre-17"
mkdir -p "$old/bin"
printf '#!/bin/sh\necho "this Java 17 must not run" >&2\nexit 3\n' > "$old/bin/java"
chmod +x "$old/bin/java"
echo 'JAVA_VERSION="17.0.13"' > "$old/release"
help_out="$(JAVA_HOME="$old" "$tree/usr/bin/phi3" --help 2>/dev/null)" && [[ "$help_out" == "usage: phi3 COMMAND"* ]] \
  && ok "usr/bin/phi3 passes over a Java 17 JAVA_HOME" || fail "usr/bin/phi3 with a Java 17 JAVA_HOME: $help_out"
# The packaged configuration, pointed at the demo model, passes `edge-agent check`.
demo_model="$root/samples/models/phi3-edge-demo.Q4_0.gguf"
sed "s|^  path: /var/lib/edge-agent/models/current.gguf|  path: $demo_model|" "$conf" > "$work/config.yaml"
check_out="$("$tree/usr/bin/edge-agent" check --config "$work/config.yaml" 2>&1)" && [[ "$check_out" == *OK* ]] \
  && ok "edge-agent check on the packaged config.yaml (model: the demo model)" || fail "edge-agent check on the packaged config.yaml: $check_out"

# --- lintian --------------------------------------------------------------------------------------
if command -v lintian >/dev/null; then
  lintian_out="$(lintian --tag-display-limit 0 -I "$deb" 2>&1 | grep -v 'running with root privileges' || true)"
  echo "  lintian: ${lintian_out:-(no tags)}" | sed '2,$s/^/           /'
  if grep -q '^E: ' <<<"$lintian_out"; then fail "lintian errors (above)"; else ok "lintian: no errors"; fi
else
  echo "  (lintian not installed: apt-get install lintian)"
fi

echo "==> $((failures)) failure(s), $(( $(date +%s) - start )) s"
[ "$failures" -eq 0 ]
