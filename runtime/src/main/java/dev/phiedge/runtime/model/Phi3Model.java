package dev.phiedge.runtime.model;

import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.tensor.WeightTensor;

/**
 * The {@code phi3} architecture: one fused {@code attn_qkv} matrix whose output is Q | K | V, and one
 * fused {@code ffn_up} matrix whose output is gate | up (first half gate, second half up).
 */
public final class Phi3Model extends DecoderModel {
    private final WeightTensor[] qkv;
    private final WeightTensor[] gateUp;

    Phi3Model(GgufFile file, ModelConfig config) {
        super(file, config);
        int dim = config.embeddingLength();
        int layers = config.layerCount();
        qkv = new WeightTensor[layers];
        gateUp = new WeightTensor[layers];
        for (int l = 0; l < layers; l++) {
            qkv[l] = matrix("blk." + l + ".attn_qkv.weight", dim + 2 * config.kvDim(), dim);
            gateUp[l] = matrix("blk." + l + ".ffn_up.weight", 2 * config.feedForwardLength(), dim);
        }
    }

    @Override
    protected void projectAttentionInput(InferenceState s, int layer, int batch) {
        int dim = config.embeddingLength();
        int kvDim = config.kvDim();
        int width = dim + 2 * kvDim;
        s.matMul.apply(qkv[layer], s.xb, dim, s.proj, width, batch);
        for (int b = 0; b < batch; b++) {
            int row = b * width;
            System.arraycopy(s.proj, row, s.q, b * dim, dim);
            System.arraycopy(s.proj, row + dim, s.k, b * kvDim, kvDim);
            System.arraycopy(s.proj, row + dim + kvDim, s.v, b * kvDim, kvDim);
        }
    }

    @Override
    protected void projectFeedForwardInput(InferenceState s, int layer, int batch) {
        int ff = config.feedForwardLength();
        s.matMul.apply(gateUp[layer], s.xb, config.embeddingLength(), s.proj, 2 * ff, batch);
        for (int b = 0; b < batch; b++) {
            int row = b * 2 * ff;
            VectorMath.swiglu(s.proj, row, s.proj, row + ff, s.hidden, b * ff, ff);
        }
    }
}
