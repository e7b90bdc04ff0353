#!/usr/bin/env bash
# Builds everything (no tests) and runs the demo: an embedded MQTT broker, the agent with the trained
# demo model and samples/config/demo.yaml, and a simulator publishing sample events.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java25.sh
./mvnw -B -q -ntp install -DskipTests
exec scripts/edge-agent demo "$@"
