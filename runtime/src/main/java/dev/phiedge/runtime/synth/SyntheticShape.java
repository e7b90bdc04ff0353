package dev.phiedge.runtime.synth;

import java.util.Locale;

/**
 * The hyperparameters of the models {@code phi3 synth} imitates, as their GGUF files state them.
 *
 * <ul>
 *   <li>{@code phi3-mini-4k}: Phi-3-mini-4k-instruct (shared/perf/reference.md).</li>
 *   <li>{@code phi3-mini-128k}: Phi-3-mini-128k-instruct: the same matrices, a 131072-token context
 *       over an original 4096, LongRoPE factor tensors and attention factor, no 2047 window.</li>
 *   <li>{@code tiny}: phi3-tiny-a of shared/testdata/phi3-tiny (2 layers of 256).</li>
 * </ul>
 *
 * @param attnFactor {@code rope.scaling.attn_factor}, or 0 when the file has no such key
 * @param ropeFactors whether the file has {@code rope_factors_long/short.weight} tensors
 */
public enum SyntheticShape {
    PHI3_MINI_4K("phi3-mini-4k", "phi3-synth-mini-4k", 3072, 32, 32, 32, 8192, 4096, 4096, 2047, 96, 0f, false),
    PHI3_MINI_128K("phi3-mini-128k", "phi3-synth-mini-128k", 3072, 32, 32, 32, 8192, 131072, 4096, 262144, 96,
            // sqrt(1 + ln(131072 / 4096) / ln(4096)): the factor llama.cpp's converter writes for LongRoPE
            (float) Math.sqrt(1 + Math.log(32.0) / Math.log(4096.0)), true),
    TINY("tiny", "phi3-tiny-a", 256, 2, 4, 4, 512, 512, 512, 32, 64, 0f, false);

    public static final int VOCAB = 32064;
    public static final float RMS_EPS = 1e-5f;
    public static final float ROPE_BASE = 10000f;

    final String id;
    final String generalName;
    final int embd;
    final int layers;
    final int heads;
    final int kvHeads;
    final int ff;
    final int context;
    final int originalContext;
    final int slidingWindow;
    final int ropeDims;
    final float attnFactor;
    final boolean ropeFactors;

    SyntheticShape(String id, String generalName, int embd, int layers, int heads, int kvHeads, int ff, int context,
                   int originalContext, int slidingWindow, int ropeDims, float attnFactor, boolean ropeFactors) {
        this.id = id;
        this.generalName = generalName;
        this.embd = embd;
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.ff = ff;
        this.context = context;
        this.originalContext = originalContext;
        this.slidingWindow = slidingWindow;
        this.ropeDims = ropeDims;
        this.attnFactor = attnFactor;
        this.ropeFactors = ropeFactors;
    }

    /** The command-line name ({@code phi3-mini-4k}, {@code phi3-mini-128k}, {@code tiny}). */
    public String id() { return id; }

    public int embeddingLength() { return embd; }

    public int layerCount() { return layers; }

    public int feedForwardLength() { return ff; }

    public int kvDim() { return embd / heads * kvHeads; }

    public static SyntheticShape parse(String id) {
        for (SyntheticShape s : values()) if (s.id.equals(id.toLowerCase(Locale.ROOT))) return s;
        throw new IllegalArgumentException("unknown shape '" + id + "' (known: phi3-mini-4k, phi3-mini-128k, tiny)");
    }
}
