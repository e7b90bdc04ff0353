#!/usr/bin/env bash
# Thread-scaling run of `phi3 bench` on synthetic Phi-3-mini-4k models (made with `phi3 synth` when
# missing): one JSON line per (type, thread count) in OUT/bench.TYPE.jsonl, and the CPU in OUT/cpu.txt.
# usage: scripts/scaling-bench.sh OUT [TYPES] [THREADS]     e.g. scripts/scaling-bench.sh /tmp/scaling "Q4_0" "1 2 4"
# Needs runtime/target/phi3.jar. Uses .jre/bin/java when present (a jlink'd runtime, small enough to carry to
# another machine: jlink --add-modules java.base,java.management,jdk.management,jdk.incubator.vector
# --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output .jre), else a JDK 25.
set -euo pipefail
out=${1:?usage: scaling-bench.sh OUT [TYPES] [THREADS]}
types=${2:-"Q4_0 Q4_K_M"}
threads=${3:-"1 2 4 8 16"}
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -x "$root/.jre/bin/java" ]; then java="$root/.jre/bin/java"; else . "$root/scripts/java25.sh"; java=java; fi
phi3=("$java" -Xmx64m -XX:+UseSerialGC -XX:LoopUnrollLimit=400 -XX:TrimNativeHeapInterval=1000 --add-modules jdk.incubator.vector -jar "$root/runtime/target/phi3.jar")
vocab="$root/runtime/src/test/resources/tokenizer/ggml-vocab-phi-3.gguf"
models=${MODELS_DIR:-/tmp/phi3-scaling}
mkdir -p "$models" "$out"
(lscpu 2>/dev/null || cat /proc/cpuinfo) > "$out/cpu.txt"
for type in $types; do
  model="$models/mini.$type.gguf"
  if [ ! -f "$model" ]; then
    "${phi3[@]}" synth --shape phi3-mini-4k --type "$type" --seed 1 --vocab "$vocab" --out "$model" >/dev/null
    sync # the file's dirty pages written back now, not while the first run decodes
  fi
  for n in $threads; do
    "${phi3[@]}" bench --model "$model" --prompt-tokens 32 --gen-tokens 16 --repeat 2 --threads "$n" --context 2048 --json \
      >> "$out/bench.$type.jsonl" 2>> "$out/bench.log"
    echo "$type threads $n done" >&2
  done
done
