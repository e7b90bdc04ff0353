package dev.phiedge.runtime.cli;

import dev.phiedge.runtime.synth.SyntheticModel;
import dev.phiedge.runtime.synth.SyntheticShape;
import dev.phiedge.runtime.synth.SyntheticType;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code phi3 synth --shape phi3-mini-4k|phi3-mini-128k|tiny --type F16|Q8_0|Q4_0|Q4_K_M --seed S
 * [--vocab VOCAB.gguf] --out FILE [--dry-run] [--json]}: writes a random-weight model shaped like the
 * real one ({@link SyntheticModel}). {@code --dry-run} prints the tensor table without writing.
 */
final class SynthCommand {
    static final long DEFAULT_SEED = 1;
    /** The vocabulary used when --vocab is not given, relative to the working directory (the repository root). */
    static final String DEFAULT_VOCAB = "../shared/testdata/tokenizer/ggml-vocab-phi-3.gguf";

    private SynthCommand() { }

    static int run(Args a, PrintStream out, PrintStream err) throws IOException {
        SyntheticShape shape = SyntheticShape.parse(a.string("shape"));
        SyntheticType type = SyntheticType.parse(a.string("type"));
        SyntheticModel model = SyntheticModel.plan(shape, type);
        if (a.flag("dry-run")) {
            printPlan(model, a.flag("json"), out);
            return 0;
        }
        Path target = Path.of(a.string("out"));
        Path vocab = Path.of(a.string("vocab", DEFAULT_VOCAB));
        if (!Files.exists(vocab)) {
            throw new IllegalArgumentException("vocabulary " + vocab + " not found: give --vocab ggml-vocab-phi-3.gguf"
                    + " (the repository has runtime/src/test/resources/tokenizer/ggml-vocab-phi-3.gguf)");
        }
        err.printf("phi3 synth: writing %s (%s, %s, %,d bytes of tensors)%n", target, shape.id(), type, model.tensorBytes());
        SyntheticModel.Result r = model.write(target, a.longValue("seed", DEFAULT_SEED), vocab);
        double seconds = r.nanos() / 1e9;
        if (a.flag("json")) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("file", r.path().toString());
            root.put("shape", shape.id());
            root.put("type", type.name());
            root.put("bytes", r.bytes());
            root.put("tensors", r.tensors());
            root.put("seconds", seconds);
            out.println(JsonWriter.write(root));
        } else {
            out.printf("%s: %,d bytes, %d tensors, %.1f s (%.0f MB/s)%n", r.path(), r.bytes(), r.tensors(), seconds, r.bytes() / 1e6 / seconds);
        }
        return 0;
    }

    private static void printPlan(SyntheticModel model, boolean json, PrintStream out) {
        if (json) {
            List<Object> rows = new ArrayList<>();
            for (SyntheticModel.TensorSpec t : model.tensors()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("name", t.name());
                row.put("type", t.type().name());
                row.put("shape", Arrays.stream(t.shape()).boxed().toList());
                row.put("bytes", t.bytes());
                rows.add(row);
            }
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("tensor_bytes", model.tensorBytes());
            root.put("tensors", rows);
            out.println(JsonWriter.write(root));
            return;
        }
        for (SyntheticModel.TensorSpec t : model.tensors()) {
            out.printf("  %-36s %-6s %-20s %,14d%n", t.name(), t.type(), Arrays.toString(t.shape()), t.bytes());
        }
        out.printf("  %-36s %-6s %-20s %,14d%n", "total", "", "", model.tensorBytes());
    }
}
