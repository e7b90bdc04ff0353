package dev.phiedge.runtime.synth;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.gguf.GgufValue;
import dev.phiedge.runtime.gguf.GgufWriter;
import dev.phiedge.runtime.synth.SyntheticType.Role;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A phi3 GGUF file with the tensor names, shapes, types and metadata of a real model and seeded random
 * weights, for benchmarks and tests ({@code phi3 synth}). Real weights cannot be downloaded here, and
 * the speed of a matrix product does not depend on the values.
 *
 * <p>{@link #plan} is the dry run: the tensor table and metadata keys, nothing written. {@link #write}
 * streams the tensors one row at a time, so memory stays small whatever the size.
 *
 * <p>Order: files of the quantized types follow llama-quantize (metadata ending in
 * {@code general.quantization_version, general.file_type}; tensors without a layer first, by name,
 * then layer by layer, by name within a layer); F16 files follow the converter (gguf-py): the order
 * of the phi3 graph. These are the orders of the phi3-tiny-a files in shared/testdata.
 *
 * <p>Weights: matrices ~ N(0, 0.02^2), token_embd and output wider (0.15, 0.2, as phi3-tiny-a), norm
 * weights 1 + 0.05 N(0,1), LongRoPE factors rising smoothly from 1 (short) and 1 to about 40 (long).
 */
public final class SyntheticModel {

    /** One tensor of the plan. {@code shape} is in ggml order: {@code [row length, rows]}. */
    public record TensorSpec(String name, GgmlType type, long[] shape, Role role) {
        public long bytes() {
            long n = 1;
            for (long d : shape) n *= d;
            return type.bytesFor(n);
        }
    }

    /** What {@link #write} produced. */
    public record Result(Path path, long bytes, int tensors, long nanos) { }

    private final SyntheticShape shape;
    private final SyntheticType type;
    private final List<TensorSpec> tensors;

    private SyntheticModel(SyntheticShape shape, SyntheticType type) {
        this.shape = shape;
        this.type = type;
        this.tensors = buildTable();
    }

    /** The dry run: the tensor table of this shape and type, in file order. */
    public static SyntheticModel plan(SyntheticShape shape, SyntheticType type) {
        return new SyntheticModel(shape, type);
    }

    public List<TensorSpec> tensors() { return tensors; }

    /** Bytes of tensor data (without the header and alignment padding). */
    public long tensorBytes() {
        long n = 0;
        for (TensorSpec t : tensors) n += t.bytes();
        return n;
    }

    /**
     * The metadata written, in order: the architecture keys, then {@code tokenizer.*} copied verbatim
     * from {@code vocab} (a vocabulary GGUF such as ggml-vocab-phi-3.gguf).
     */
    public Map<String, GgufValue> metadata(GgufFile vocab) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        String p = "phi3.";
        m.put("general.architecture", GgufValue.of("phi3"));
        m.put("general.name", GgufValue.of(shape.generalName));
        m.put(p + "context_length", GgufValue.ofUInt32(shape.context));
        m.put(p + "rope.scaling.original_context_length", GgufValue.ofUInt32(shape.originalContext));
        m.put(p + "embedding_length", GgufValue.ofUInt32(shape.embd));
        m.put(p + "feed_forward_length", GgufValue.ofUInt32(shape.ff));
        m.put(p + "block_count", GgufValue.ofUInt32(shape.layers));
        m.put(p + "attention.head_count", GgufValue.ofUInt32(shape.heads));
        m.put(p + "attention.head_count_kv", GgufValue.ofUInt32(shape.kvHeads));
        m.put(p + "attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(SyntheticShape.RMS_EPS));
        m.put(p + "rope.dimension_count", GgufValue.ofUInt32(shape.ropeDims));
        m.put(p + "rope.freq_base", GgufValue.ofFloat32(SyntheticShape.ROPE_BASE));
        if (shape.attnFactor > 0) m.put(p + "rope.scaling.attn_factor", GgufValue.ofFloat32(shape.attnFactor));
        if (!type.quantized()) m.put("general.file_type", GgufValue.ofUInt32(type.fileType()));
        m.put(p + "attention.sliding_window", GgufValue.ofUInt32(shape.slidingWindow));
        vocab.metadata().forEach((k, v) -> { if (k.startsWith("tokenizer.")) m.put(k, v); });
        m.put("general.quantization_version", GgufValue.ofUInt32(2));
        if (type.quantized()) m.put("general.file_type", GgufValue.ofUInt32(type.fileType()));
        return m;
    }

    /** Writes the file; the vocabulary must have {@value SyntheticShape#VOCAB} tokens. */
    public Result write(Path out, long seed, Path vocabPath) throws IOException {
        long start = System.nanoTime();
        GgufWriter w = new GgufWriter();
        try (GgufFile vocab = GgufFile.open(vocabPath)) {
            if (!vocab.has("tokenizer.ggml.tokens") || vocab.getStringArray("tokenizer.ggml.tokens").length != SyntheticShape.VOCAB) {
                throw new IllegalArgumentException(vocabPath + " is not a " + SyntheticShape.VOCAB + "-token vocabulary GGUF (want ggml-vocab-phi-3.gguf)");
            }
            metadata(vocab).forEach(w::put);
            for (TensorSpec t : tensors) {
                w.addTensor(t.name(), t.type(), t.shape(), o -> {
                    if (t.role() == Role.ROPE_FACTORS) {
                        o.putFloats(ropeFactors(t.name().contains("long"), (int) t.shape()[0]));
                        return;
                    }
                    RandomRows rows = new RandomRows(t.type(), (int) t.shape()[0], t.role() == Role.NORM ? 1f : 0f,
                            sigma(t.role()), new SplittableRandom(mix(seed, t.name())));
                    long n = t.shape().length > 1 ? t.shape()[1] : 1;
                    for (long r = 0; r < n; r++) o.putBytes(rows.next());
                });
            }
            w.write(out);
        }
        long bytes = java.nio.file.Files.size(out);
        return new Result(out, bytes, tensors.size(), System.nanoTime() - start);
    }

    /**
     * A {@code rows x cols} matrix of {@code type} (F32, F16, Q8_0, Q4_0, Q4_K, Q5_K or Q6_K) with the
     * random weights a synthetic file would hold (spread 0.02), on the heap: for kernel benchmarks and tests.
     */
    public static MemorySegment randomMatrix(GgmlType type, int rows, int cols, long seed) {
        RandomRows random = new RandomRows(type, cols, 0f, 0.02f, new SplittableRandom(seed));
        MemorySegment m = MemorySegment.ofArray(new byte[Math.multiplyExact(random.rowBytes(), rows)]);
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(MemorySegment.ofArray(random.next()), 0, m, (long) r * random.rowBytes(), random.rowBytes());
        }
        return m;
    }

    private static float sigma(Role role) {
        return switch (role) {
            case TOKEN_EMBD -> 0.15f;
            case OUTPUT -> 0.2f;
            case NORM -> 0.05f;
            default -> 0.02f;
        };
    }

    /**
     * Plausible LongRoPE factors (the published ones are measured, these only look like them): short
     * factors rise from 1.0 to about 1.2 over the 48 frequency pairs, long factors from 1.0 to about 40.
     */
    static float[] ropeFactors(boolean isLong, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            double t = (double) i / (n - 1);
            f[i] = (float) (isLong ? 1 + 39 * t * t * t : 1 + 0.2 * t * t);
        }
        return f;
    }

    private static long mix(long seed, String name) {
        long h = seed * 0x9E3779B97F4A7C15L + name.hashCode();
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        return h ^ (h >>> 33);
    }

    private List<TensorSpec> buildTable() {
        long embd = shape.embd;
        long vocab = SyntheticShape.VOCAB;
        long qkvRows = embd + 2L * shape.kvDim();
        List<TensorSpec> globals = new ArrayList<>();
        if (shape.ropeFactors) {
            globals.add(spec("rope_factors_long.weight", Role.ROPE_FACTORS, -1, shape.ropeDims / 2));
            globals.add(spec("rope_factors_short.weight", Role.ROPE_FACTORS, -1, shape.ropeDims / 2));
        }
        TensorSpec tokenEmbd = spec("token_embd.weight", Role.TOKEN_EMBD, -1, embd, vocab);
        TensorSpec outputNorm = spec("output_norm.weight", Role.NORM, -1, embd);
        TensorSpec output = spec("output.weight", Role.OUTPUT, -1, embd, vocab);
        List<TensorSpec> table = new ArrayList<>();
        if (type.quantized()) {
            // llama-quantize: tensors without a layer by name, then each layer's by name
            table.add(output);
            table.add(outputNorm);
            table.addAll(globals);
            table.add(tokenEmbd);
        } else {
            table.addAll(globals);
            table.add(tokenEmbd);
        }
        for (int l = 0; l < shape.layers; l++) {
            String b = "blk." + l + ".";
            TensorSpec attnNorm = spec(b + "attn_norm.weight", Role.NORM, l, embd);
            TensorSpec qkv = spec(b + "attn_qkv.weight", Role.ATTN_QKV, l, embd, qkvRows);
            TensorSpec attnOut = spec(b + "attn_output.weight", Role.ATTN_OUTPUT, l, embd, embd);
            TensorSpec ffnNorm = spec(b + "ffn_norm.weight", Role.NORM, l, embd);
            TensorSpec up = spec(b + "ffn_up.weight", Role.FFN_UP, l, embd, 2L * shape.ff);
            TensorSpec down = spec(b + "ffn_down.weight", Role.FFN_DOWN, l, shape.ff, embd);
            table.addAll(type.quantized()
                    ? List.of(attnNorm, attnOut, qkv, down, ffnNorm, up)
                    : List.of(attnNorm, qkv, attnOut, ffnNorm, up, down));
        }
        if (!type.quantized()) {
            table.add(outputNorm);
            table.add(output);
        }
        return List.copyOf(table);
    }

    private TensorSpec spec(String name, Role role, int layer, long... shape) {
        return new TensorSpec(name, type.typeFor(role, layer, this.shape.layers), shape, role);
    }
}
