#!/usr/bin/env bash
# Builds everything (no tests) and runs the demo: an embedded MQTT broker, the agent with the trained
# demo model and samples/config/demo.yaml, and a simulator publishing sample events.
# The demo has a jar of its own, demo/target/edge-agent-demo.jar (the broker stays out of the device jar);
# options: ./scripts/demo.sh --help. JAVA_OPTS replaces the default JVM options, as in scripts/edge-agent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java25.sh
./mvnw -B -q -ntp install -DskipTests
# --sun-misc-unsafe-memory-access=allow: the embedded broker's Guava and Netty use sun.misc.Unsafe (the JDK
# would warn about it); the device jar has no such library and its launcher no such option.
# shellcheck disable=SC2086
exec java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    ${JAVA_OPTS:--XX:+UseSerialGC -XX:LoopUnrollLimit=400 -XX:TrimNativeHeapInterval=1000} -jar demo/target/edge-agent-demo.jar "$@"
