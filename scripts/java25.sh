# Sourced by the project's scripts, ./mvnw and the Debian package's launchers (/usr/bin/edge-agent,
# /usr/bin/phi3, which ship this file as /usr/share/edge-agent/java25.sh): finds a Java 25 or newer and
# exports JAVA_HOME and PATH. All of them find the same Java the same way.
# Order: $JAVA_HOME if it is 25+, then `java` on the PATH if it is 25+, then the usual install folders:
# Debian's own first (/usr/lib/jvm/java-25-openjdk-*, from the openjdk-25-jre-headless package on
# Debian 13 and Raspberry Pi OS trixie), then Temurin's, then any other.
# A build needs a JDK (javac); with JAVA25_RUNTIME=1 (the launchers) a runtime (bin/java) is enough.
# A folder's version is read from its `release` file when it has one (no JVM is started for it).
java_major() {
  local home="$1" version
  if [ -f "$home/release" ]; then
    version=$(sed -n 's/^JAVA_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$home/release" | head -n1)
    [ -n "$version" ] && { echo "$version"; return 0; }
  fi
  "$home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1
}
pick_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")" \
                   /usr/lib/jvm/java-25-openjdk-* /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /usr/lib/jvm/*25* /opt/java/* /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    [ "${JAVA25_RUNTIME:-0}" = 1 ] || [ -x "$candidate/bin/javac" ] || continue
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "${major%%.*}" -ge 25 ] 2>/dev/null; then echo "$candidate"; return 0; fi
  done
  return 1
}
if ! JAVA_HOME=$(pick_jdk); then
  if [ "${JAVA25_RUNTIME:-0}" = 1 ]; then
    echo "error: a Java 25 runtime or newer is needed: install openjdk-25-jre-headless (Debian 13, Raspberry Pi OS trixie), or set JAVA_HOME to one" >&2
  else
    echo "error: a JDK 25 or newer is needed (set JAVA_HOME to it)" >&2
  fi
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
