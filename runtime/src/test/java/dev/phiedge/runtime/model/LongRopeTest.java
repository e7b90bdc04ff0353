package dev.phiedge.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.gguf.GgufValue;
import dev.phiedge.runtime.gguf.GgufWriter;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Phi-3.5-mini / Phi-3-mini-128k rotary scaling (LongRoPE): the rotation frequencies are divided by
 * per-dimension factors, the long set when the configured context exceeds
 * {@code rope.scaling.original_context_length}, else the short set, and cos/sin are scaled by
 * {@code rope.scaling.attn_factor} (llama.cpp's phi3 rules, shared/testdata/phi3-tiny/README.md).
 */
class LongRopeTest {
    private static final int EMBD = 64, HEADS = 2, HEAD_DIM = 32, FF = 64, VOCAB = 8, ORIGINAL = 64;
    private static final float BASE = 10000f, ATTN_FACTOR = 1.1902f;

    @Test
    void choosesLongFactorsOnlyBeyondTheOriginalContext(@TempDir Path dir) throws Exception {
        float[] shortFactors = new float[HEAD_DIM / 2];
        float[] longFactors = new float[HEAD_DIM / 2];
        for (int i = 0; i < shortFactors.length; i++) {
            shortFactors[i] = 1f + 0.05f * i;
            longFactors[i] = 1f + 2.5f * i;
        }
        Path file = writeModel(dir.resolve("longrope.gguf"), shortFactors, longFactors);
        try (GgufFile f = GgufFile.open(file)) {
            DecoderModel model = DecoderModel.load(f);
            assertEquals(ATTN_FACTOR, model.config().ropeAttnFactor());
            try (InferenceState beyond = model.newState(2 * ORIGINAL, 4); InferenceState within = model.newState(ORIGINAL, 4)) {
                for (int pos : new int[] {1, 7, 63, 100}) {
                    for (int i = 0; i < HEAD_DIM / 2; i++) {
                        double inv = Math.pow(BASE, -2.0 * i / HEAD_DIM);
                        int at = pos * (HEAD_DIM / 2) + i;
                        assertEquals(Math.cos(pos * inv / longFactors[i]) * ATTN_FACTOR, beyond.ropeCos[at], 2e-4, "long cos " + pos + "," + i);
                        assertEquals(Math.sin(pos * inv / longFactors[i]) * ATTN_FACTOR, beyond.ropeSin[at], 2e-4, "long sin " + pos + "," + i);
                        if (pos < ORIGINAL) {
                            assertEquals(Math.cos(pos * inv / shortFactors[i]) * ATTN_FACTOR, within.ropeCos[at], 2e-4, "short cos " + pos + "," + i);
                        }
                    }
                }
                // The model runs at both sizes and gives finite logits.
                model.forward(beyond, new int[] {1, 2, 3}, 0, 3, true);
                for (float l : beyond.logits()) assertTrue(Float.isFinite(l));
            }
        }
    }

    @Test
    void withoutFactorTensorsTheRotationIsPlainRope(@TempDir Path dir) throws Exception {
        Path file = writeModel(dir.resolve("plain.gguf"), null, null);
        try (GgufFile f = GgufFile.open(file); InferenceState s = DecoderModel.load(f).newState(2 * ORIGINAL, 4)) {
            int pos = 5, i = 3;
            double theta = pos * Math.pow(BASE, -2.0 * i / HEAD_DIM);
            assertEquals(Math.cos(theta) * ATTN_FACTOR, s.ropeCos[pos * (HEAD_DIM / 2) + i], 1e-5);
            assertSame(RopeStyle.HALF_SPLIT, s.config().ropeStyle());
        }
    }

    private static Path writeModel(Path path, float[] shortFactors, float[] longFactors) throws Exception {
        SplittableRandom random = new SplittableRandom(3);
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.of("phi3"));
        w.put("general.name", GgufValue.of("longrope-test"));
        w.put("phi3.context_length", GgufValue.ofUInt32(131072));
        w.put("phi3.rope.scaling.original_context_length", GgufValue.ofUInt32(ORIGINAL));
        w.put("phi3.rope.scaling.attn_factor", GgufValue.ofFloat32(ATTN_FACTOR));
        w.put("phi3.embedding_length", GgufValue.ofUInt32(EMBD));
        w.put("phi3.feed_forward_length", GgufValue.ofUInt32(FF));
        w.put("phi3.block_count", GgufValue.ofUInt32(1));
        w.put("phi3.attention.head_count", GgufValue.ofUInt32(HEADS));
        w.put("phi3.attention.head_count_kv", GgufValue.ofUInt32(HEADS));
        w.put("phi3.attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(1e-5f));
        w.put("phi3.attention.sliding_window", GgufValue.ofUInt32(262144));
        w.put("phi3.rope.dimension_count", GgufValue.ofUInt32(HEAD_DIM));
        w.put("phi3.rope.freq_base", GgufValue.ofFloat32(BASE));
        String[] tokens = new String[VOCAB];
        for (int i = 0; i < VOCAB; i++) tokens[i] = "t" + i;
        w.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens));
        addMatrix(w, "token_embd.weight", EMBD, VOCAB, random);
        addMatrix(w, "output.weight", EMBD, VOCAB, random);
        addVector(w, "output_norm.weight", ones(EMBD));
        addVector(w, "blk.0.attn_norm.weight", ones(EMBD));
        addVector(w, "blk.0.ffn_norm.weight", ones(EMBD));
        addMatrix(w, "blk.0.attn_qkv.weight", EMBD, 3 * EMBD, random);
        addMatrix(w, "blk.0.attn_output.weight", EMBD, EMBD, random);
        addMatrix(w, "blk.0.ffn_up.weight", EMBD, 2 * FF, random);
        addMatrix(w, "blk.0.ffn_down.weight", FF, EMBD, random);
        if (shortFactors != null) {
            addVector(w, "rope_factors_short.weight", shortFactors);
            addVector(w, "rope_factors_long.weight", longFactors);
        }
        w.write(path);
        return path;
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    private static void addVector(GgufWriter w, String name, float[] values) {
        w.addTensor(name, GgmlType.F32, new long[] {values.length}, out -> out.putFloats(values));
    }

    private static void addMatrix(GgufWriter w, String name, int cols, int rows, SplittableRandom random) {
        float[] values = new float[cols * rows];
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextDouble(-1, 1) * 0.1);
        w.addTensor(name, GgmlType.F32, new long[] {cols, rows}, out -> out.putFloats(values));
    }
}
