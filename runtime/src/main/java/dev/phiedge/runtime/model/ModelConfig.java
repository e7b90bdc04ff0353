package dev.phiedge.runtime.model;

import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.gguf.GgufFormatException;

/**
 * The hyperparameters of a decoder-only transformer, every one read from GGUF metadata under the
 * architecture's prefix ({@code phi3.embedding_length}, ...). Nothing is hard-coded: Phi-3-mini,
 * Phi-3-medium (grouped-query attention) and Phi-3.5-mini (LongRoPE) differ only here.
 *
 * @param slidingWindow a query at position p sees keys at p - slidingWindow + 1 .. p; 0 means no window
 */
public record ModelConfig(
        String architecture,
        String name,
        int embeddingLength,
        int layerCount,
        int headCount,
        int kvHeadCount,
        int feedForwardLength,
        int vocabularySize,
        float rmsEpsilon,
        int ropeDimensions,
        float ropeFreqBase,
        float ropeAttnFactor,
        RopeStyle ropeStyle,
        int trainedContextLength,
        int originalContextLength,
        int slidingWindow) {

    public int headDim() { return embeddingLength / headCount; }

    /** Width of the K and V projections: fewer than n_embd under grouped-query attention. */
    public int kvDim() { return headDim() * kvHeadCount; }

    /** Query heads that share one key/value head. */
    public int queriesPerKvHead() { return headCount / kvHeadCount; }

    /** Architectures this runtime implements. */
    public static boolean isSupported(String architecture) {
        return architecture.equals("phi3") || architecture.equals("llama");
    }

    public static ModelConfig fromGguf(GgufFile f) {
        String arch = f.getString("general.architecture");
        if (!isSupported(arch)) {
            throw new GgufFormatException(f.path(), 0, "unknown architecture '" + arch + "' (supported: phi3, llama)");
        }
        String p = arch + ".";
        int embd = positive(f, p + "embedding_length", f.getInt(p + "embedding_length"));
        int layers = positive(f, p + "block_count", f.getInt(p + "block_count"));
        int heads = positive(f, p + "attention.head_count", f.getInt(p + "attention.head_count"));
        int kvHeads = positive(f, p + "attention.head_count_kv", f.getInt(p + "attention.head_count_kv", heads));
        if (embd % heads != 0 || heads % kvHeads != 0) {
            throw new GgufFormatException(f.path(), 0, "inconsistent attention shape: n_embd " + embd + ", heads " + heads + ", kv heads " + kvHeads);
        }
        int ff = positive(f, p + "feed_forward_length", f.getInt(p + "feed_forward_length"));
        int vocab = f.has(p + "vocab_size") ? f.getInt(p + "vocab_size") : f.getStringArray("tokenizer.ggml.tokens").length;
        float eps = f.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f);
        int headDim = embd / heads;
        int ropeDims = f.getInt(p + "rope.dimension_count", headDim);
        if (ropeDims <= 0 || ropeDims > headDim || ropeDims % 2 != 0) {
            throw new GgufFormatException(f.path(), 0, "rope.dimension_count " + ropeDims + " does not fit head size " + headDim);
        }
        float base = f.getFloat(p + "rope.freq_base", 10000f);
        float attnFactor = f.getFloat(p + "rope.scaling.attn_factor", 1f);
        int trained = f.getInt(p + "context_length", 2048);
        int original = f.getInt(p + "rope.scaling.original_context_length", trained);
        RopeStyle rope = arch.equals("phi3") ? RopeStyle.HALF_SPLIT : RopeStyle.ADJACENT_PAIRS;
        int window = arch.equals("phi3") ? phi3SlidingWindow(f, p, layers, kvHeads, trained) : 0;
        String name = f.getString("general.name", arch);
        return new ModelConfig(arch, name, embd, layers, heads, kvHeads, ff, vocab, eps, ropeDims, base, attnFactor,
                rope, trained, original, window);
    }

    /**
     * llama.cpp (llama-model.cpp, LLM_ARCH_PHI3) requires {@code phi3.attention.sliding_window} except
     * for older conversions of the published models, for which it assumes the window they were
     * trained with: 2047 for the 4k models, 262144 (mini) or 131072 (medium) for the 128k ones.
     */
    private static int phi3SlidingWindow(GgufFile f, String p, int layers, int kvHeads, int trained) {
        String key = p + "attention.sliding_window";
        if (f.has(key)) return positive(f, key, f.getInt(key));
        if ((layers == 32 || layers == 40) && trained == 4096) return 2047;
        if (layers == 32 && kvHeads == 32 && trained == 131072) return 262144;
        if (layers == 40 && trained == 131072) return 131072;
        throw new GgufFormatException(f.path(), 0, "missing metadata key '" + key + "' (required for this phi3 model)");
    }

    private static int positive(GgufFile f, String key, int value) {
        if (value <= 0 || value > (1 << 24)) throw new GgufFormatException(f.path(), 0, "metadata '" + key + "' = " + value + " is out of range");
        return value;
    }
}
