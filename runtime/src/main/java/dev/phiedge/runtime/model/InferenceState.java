package dev.phiedge.runtime.model;

import dev.phiedge.runtime.matmul.MatMul;
import dev.phiedge.runtime.matmul.ThreadedMatVec;

/**
 * Everything one inference stream owns: the KV cache, the scratch buffers of the forward pass
 * (sized once for {@link #maxBatch} positions so that decoding allocates nothing) and the scratch of
 * its matrix products ({@link MatMul}) and attention. Activations are batch-major: position b of a
 * batch occupies {@code [b * width, (b + 1) * width)}.
 *
 * <p>Thread safety: one thread at a time per state. States of one model share nothing writable
 * (the model's thread team runs one product at a time), so different states may be used on
 * different threads at once.
 */
public final class InferenceState implements AutoCloseable {
    final ModelConfig config;
    final KvCache cache;
    final int maxBatch;
    final int contextLength;
    /** This stream's matrix products, on the model's thread team. */
    final MatMul matMul;
    /** The attention of this state over its cache, split among the team ({@link DecoderModel#newState}). */
    ThreadedMatVec.RangeTask attentionTask;
    /** The layer whose attention is in flight, read by {@link #attentionTask}. */
    int attentionLayer;

    final float[] x;        // residual stream            [batch][n_embd]
    final float[] xb;       // normalized input            [batch][n_embd]
    final float[] q;        // queries                     [batch][n_embd]
    final float[] k;        // keys of the new positions   [batch][kv_dim]
    final float[] v;        // values of the new positions [batch][kv_dim]
    final float[] attended; // attention output            [batch][n_embd]
    final float[] proj;     // fused projection output     [batch][max(n_embd + 2 kv_dim, 2 n_ff)]
    final float[] hidden;   // FFN activation              [batch][n_ff]
    final float[] hidden2;  // second FFN input (llama up) [batch][n_ff]
    final float[] logits;   // logits of the last position
    final float[] ropeCos;  // [context][rope_dims / 2], attn_factor folded in
    final float[] ropeSin;

    /** Number of positions currently held in the cache. */
    int position;

    InferenceState(ModelConfig config, int contextLength, int maxBatch, float[] ropeFrequencyFactors, MatMul matMul) {
        if (contextLength <= 0) throw new IllegalArgumentException("context length must be positive, got " + contextLength);
        this.config = config;
        this.contextLength = contextLength;
        this.maxBatch = maxBatch;
        this.matMul = matMul;
        int dim = config.embeddingLength();
        int kvDim = config.kvDim();
        int ff = config.feedForwardLength();
        this.cache = new KvCache(config.layerCount(), config.kvHeadCount(), config.headDim(), contextLength);
        this.x = new float[maxBatch * dim];
        this.xb = new float[maxBatch * dim];
        this.q = new float[maxBatch * dim];
        this.k = new float[maxBatch * kvDim];
        this.v = new float[maxBatch * kvDim];
        this.attended = new float[maxBatch * dim];
        this.proj = new float[maxBatch * Math.max(dim + 2 * kvDim, 2 * ff)];
        this.hidden = new float[maxBatch * ff];
        this.hidden2 = new float[maxBatch * ff];
        this.logits = new float[config.vocabularySize()];
        int half = config.ropeDimensions() / 2;
        this.ropeCos = new float[contextLength * half];
        this.ropeSin = new float[contextLength * half];
        fillRopeTables(config, half, ropeFrequencyFactors);
    }

    /**
     * theta(pos, i) = pos * base^(-2i / n_rot) / factor[i], computed as ggml's rope does: the power
     * incrementally in float ({@code theta *= powf(base, -2/n_rot)}), cos and sin scaled by the
     * attention factor (LongRoPE's magnitude correction; 1 otherwise).
     */
    private void fillRopeTables(ModelConfig config, int half, float[] factors) {
        float thetaScale = (float) Math.pow(config.ropeFreqBase(), -2.0 / config.ropeDimensions());
        float mscale = config.ropeAttnFactor();
        for (int pos = 0; pos < contextLength; pos++) {
            float theta = pos;
            for (int i = 0; i < half; i++) {
                float t = factors == null ? theta : theta / factors[i];
                ropeCos[pos * half + i] = (float) Math.cos(t) * mscale;
                ropeSin[pos * half + i] = (float) Math.sin(t) * mscale;
                theta *= thetaScale;
            }
        }
    }

    public ModelConfig config() { return config; }

    public KvCache cache() { return cache; }

    public int contextLength() { return contextLength; }

    public int maxBatch() { return maxBatch; }

    /** How many positions the cache holds (the next token goes at this position). */
    public int position() { return position; }

    /** Forgets cached positions from {@code newPosition} on (they will be overwritten). */
    public void truncate(int newPosition) {
        if (newPosition < 0 || newPosition > position) throw new IllegalArgumentException("cannot truncate to " + newPosition + " from " + position);
        position = newPosition;
    }

    /** Makes the cache hold exactly the snapshot's positions. */
    public void restore(KvCache.Snapshot snapshot) {
        cache.restore(snapshot);
        position = snapshot.positions();
    }

    /** Logits after the last evaluated position (valid after a forward pass that asked for them). */
    public float[] logits() { return logits; }

    @Override
    public void close() {
        try {
            cache.close();
        } finally {
            matMul.close();
        }
    }
}
