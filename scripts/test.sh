#!/usr/bin/env bash
# Runs every test of every module (what CI runs). Needs a JDK 25 and, for the agent's tests, mosquitto.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java25.sh
exec ./mvnw -B -ntp verify "$@"
