package dev.phiedge.runtime.model;

import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.tensor.WeightTensor;

/**
 * The {@code llama} architecture: separate {@code attn_q}, {@code attn_k}, {@code attn_v} and
 * {@code ffn_gate}, {@code ffn_up} matrices, and adjacent-pair RoPE (set in {@link ModelConfig}).
 */
public final class LlamaModel extends DecoderModel {
    private final WeightTensor[] wq;
    private final WeightTensor[] wk;
    private final WeightTensor[] wv;
    private final WeightTensor[] gate;
    private final WeightTensor[] up;

    LlamaModel(GgufFile file, ModelConfig config) {
        super(file, config);
        int dim = config.embeddingLength();
        int layers = config.layerCount();
        wq = new WeightTensor[layers];
        wk = new WeightTensor[layers];
        wv = new WeightTensor[layers];
        gate = new WeightTensor[layers];
        up = new WeightTensor[layers];
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            wq[l] = matrix(p + "attn_q.weight", dim, dim);
            wk[l] = matrix(p + "attn_k.weight", config.kvDim(), dim);
            wv[l] = matrix(p + "attn_v.weight", config.kvDim(), dim);
            gate[l] = matrix(p + "ffn_gate.weight", config.feedForwardLength(), dim);
            up[l] = matrix(p + "ffn_up.weight", config.feedForwardLength(), dim);
        }
    }

    @Override
    protected void projectAttentionInput(InferenceState s, int layer, int batch) {
        int dim = config.embeddingLength();
        s.matMul.apply(wq[layer], s.xb, dim, s.q, dim, batch);
        s.matMul.apply(wk[layer], s.xb, dim, s.k, config.kvDim(), batch);
        s.matMul.apply(wv[layer], s.xb, dim, s.v, config.kvDim(), batch);
    }

    @Override
    protected void projectFeedForwardInput(InferenceState s, int layer, int batch) {
        int dim = config.embeddingLength();
        int ff = config.feedForwardLength();
        s.matMul.apply(gate[layer], s.xb, dim, s.hidden, ff, batch);
        s.matMul.apply(up[layer], s.xb, dim, s.hidden2, ff, batch);
        VectorMath.swiglu(s.hidden, 0, s.hidden2, 0, s.hidden, 0, batch * ff);
    }
}
