package dev.phiedge.runtime.model;

import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.gguf.GgufFormatException;
import dev.phiedge.runtime.gguf.GgufTensorInfo;
import dev.phiedge.runtime.matmul.MatMul;
import dev.phiedge.runtime.matmul.ThreadedMatVec;
import dev.phiedge.runtime.matmul.KernelPlan;
import dev.phiedge.runtime.plan.KernelPlanner;
import dev.phiedge.runtime.tensor.WeightTensor;

/**
 * A decoder-only transformer read from a mapped GGUF file: the forward pass shared by the
 * architectures. Subclasses say only how the attention and feed-forward inputs are projected
 * (phi3 fuses them into one matrix each, llama keeps them separate).
 *
 * <p>For each position, with x the embedding row of its token (llama.cpp's graph, as stated in
 * shared/testdata/phi3-tiny/README.md):
 * <pre>
 *   for each layer:
 *     h = rmsnorm(x) * attn_norm
 *     q, k, v = projections of h;  rope(q), rope(k);  q *= 1/sqrt(head_dim)
 *     x += attn_output . attention(q, cached k, cached v)   (causal, sliding window, GQA)
 *     h = rmsnorm(x) * ffn_norm
 *     x += ffn_down . (silu(gate(h)) * up(h))
 *   logits = output . (rmsnorm(x) * output_norm)
 * </pre>
 * Weights stay in the mapping; only the norm vectors (a few kilobytes a layer) are read into arrays.
 *
 * <p>Thread safety: everything a forward pass writes belongs to its {@link InferenceState} (KV cache,
 * activations, product and attention scratch), so states of one model may run on different threads
 * at once and each gets the result it would get alone. The model itself holds only read-only data
 * and the thread team, which runs one product at a time ({@link ThreadedMatVec}): with several
 * threads per product, two states' products take turns on the team; with one, each runs on its own
 * caller's thread in parallel.
 */
public abstract sealed class DecoderModel implements AutoCloseable permits Phi3Model, LlamaModel {
    protected final ModelConfig config;
    protected final GgufFile file;
    protected final WeightTensor tokenEmbedding;
    protected final WeightTensor output;
    protected final float[] outputNorm;
    protected final float[][] attnNorm;
    protected final float[][] ffnNorm;
    protected final WeightTensor[] attnOutput;
    protected final WeightTensor[] ffnDown;
    private final float[] ropeFactorsShort;
    private final float[] ropeFactorsLong;
    /** The threads every state's products and attention run on; one product at a time. */
    private ThreadedMatVec team = new ThreadedMatVec(1);
    /** The decode kernel of each group of matrices on this machine (built-in rules until {@link #planKernels}). */
    private KernelPlan plan = KernelPlan.rules();
    /** Attention scores, per thread (a thread runs one attention task at a time). */
    private final ThreadLocal<float[]> attentionScratch = ThreadLocal.withInitial(() -> new float[0]);

    protected DecoderModel(GgufFile file, ModelConfig config) {
        this.file = file;
        this.config = config;
        int dim = config.embeddingLength();
        int layers = config.layerCount();
        this.tokenEmbedding = matrix("token_embd.weight", config.vocabularySize(), dim);
        // Some llama conversions tie the output to the embedding; phi3 always has its own.
        this.output = file.tensor("output.weight") != null ? matrix("output.weight", config.vocabularySize(), dim) : tokenEmbedding;
        this.outputNorm = vector("output_norm.weight", dim);
        this.attnNorm = new float[layers][];
        this.ffnNorm = new float[layers][];
        this.attnOutput = new WeightTensor[layers];
        this.ffnDown = new WeightTensor[layers];
        for (int l = 0; l < layers; l++) {
            attnNorm[l] = vector("blk." + l + ".attn_norm.weight", dim);
            ffnNorm[l] = vector("blk." + l + ".ffn_norm.weight", dim);
            attnOutput[l] = matrix("blk." + l + ".attn_output.weight", dim, dim);
            ffnDown[l] = matrix("blk." + l + ".ffn_down.weight", dim, config.feedForwardLength());
        }
        int half = config.ropeDimensions() / 2;
        this.ropeFactorsShort = file.tensor("rope_factors_short.weight") != null ? vector("rope_factors_short.weight", half) : null;
        this.ropeFactorsLong = file.tensor("rope_factors_long.weight") != null ? vector("rope_factors_long.weight", half) : null;
    }

    /** Reads the architecture from the file and builds the matching model. */
    public static DecoderModel load(GgufFile file) {
        ModelConfig config = ModelConfig.fromGguf(file);
        return switch (config.architecture()) {
            case "phi3" -> new Phi3Model(file, config);
            case "llama" -> new LlamaModel(file, config);
            default -> throw new GgufFormatException(file.path(), 0, "unknown architecture '" + config.architecture() + "'");
        };
    }

    public ModelConfig config() { return config; }

    public GgufFile file() { return file; }

    /**
     * Sets how many threads the products and attention of states made from now on run on (1 at
     * first); stops the previous team, so states made before can no longer evaluate.
     */
    public void setThreads(int threads) {
        ThreadedMatVec previous = team;
        team = new ThreadedMatVec(threads);
        previous.close();
    }

    /**
     * Chooses the decode kernels of states made from now on with {@code planner}, on this model's
     * matrices and thread team (set the threads first: the choice can depend on them).
     */
    public KernelPlan planKernels(KernelPlanner planner) {
        java.util.List<WeightTensor> matrices = new java.util.ArrayList<>();
        for (GgufTensorInfo t : file.tensors()) {
            boolean decoded = t.name().startsWith("blk.") || t.name().equals("output.weight");
            if (decoded && t.shape().length == 2 && t.type().isSupported()) {
                matrices.add(WeightTensor.of(t.type(), file.tensorData(t), (int) t.rows(), (int) t.cols()));
            }
        }
        if (file.tensor("output.weight") == null) matrices.add(output); // tied to the embedding
        plan = planner.plan(matrices, team);
        return plan;
    }

    /** The decode kernels states made now use. */
    public KernelPlan kernelPlan() { return plan; }

    /** The number of threads products run on. */
    public int threads() { return team.threads(); }

    /** Stops the thread team (states of this model can no longer evaluate); the file stays open. */
    @Override
    public void close() { team.close(); }

    /**
     * A fresh inference state with a KV cache of {@code contextLength} positions. LongRoPE models
     * use the long factors when the context exceeds the original training context, as llama.cpp
     * does ({@code n_ctx > rope.scaling.original_context_length}).
     */
    public InferenceState newState(int contextLength, int maxBatch) {
        float[] factors = contextLength > config.originalContextLength() && ropeFactorsLong != null ? ropeFactorsLong : ropeFactorsShort;
        InferenceState s = new InferenceState(config, contextLength, maxBatch, factors, new MatMul(team, plan));
        s.attentionTask = (start, end) -> attentionRange(s, start, end);
        return s;
    }

    /** Bytes of weights read per generated token (every matrix once, one embedding row). */
    public long weightBytesPerToken() {
        long bytes = output.data().byteSize() + tokenEmbedding.data().byteSize() / config.vocabularySize();
        for (GgufTensorInfo t : file.tensors()) {
            if (t.name().startsWith("blk.")) bytes += t.byteSize();
        }
        return bytes;
    }

    /**
     * Evaluates {@code count} tokens at the state's current position, in batches of at most
     * {@code state.maxBatch()}. When {@code logits} is true the logits after the last token are left
     * in {@link InferenceState#logits()}; logits of earlier positions are never computed.
     */
    public void forward(InferenceState s, int[] tokens, int offset, int count, boolean logits) {
        if (s.position + count > s.contextLength) {
            throw new ContextOverflowException(s.position + count, s.contextLength);
        }
        int vocab = config.vocabularySize();
        for (int i = offset; i < offset + count; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException("token id " + tokens[i] + " outside the vocabulary (0.." + (vocab - 1) + ")");
            }
        }
        for (int done = 0; done < count; ) {
            int batch = Math.min(s.maxBatch, count - done);
            boolean last = done + batch == count;
            forwardBatch(s, tokens, offset + done, batch, logits && last);
            done += batch;
        }
    }

    private void forwardBatch(InferenceState s, int[] tokens, int offset, int batch, boolean logits) {
        int dim = config.embeddingLength();
        int vocab = config.vocabularySize();
        float queryScale = (float) (1.0 / Math.sqrt(config.headDim()));
        for (int b = 0; b < batch; b++) {
            tokenEmbedding.dequantizeRow(tokens[offset + b], s.x, b * dim);
        }
        for (int l = 0; l < config.layerCount(); l++) {
            for (int b = 0; b < batch; b++) rmsNorm(s.xb, b * dim, s.x, b * dim, attnNorm[l], dim, config.rmsEpsilon());
            projectAttentionInput(s, l, batch);           // xb -> q, k, v
            for (int b = 0; b < batch; b++) {
                int pos = s.position + b;
                rope(s, s.q, b * dim, config.headCount(), pos, queryScale);
                rope(s, s.k, b * config.kvDim(), config.kvHeadCount(), pos, 1f);
                s.cache.store(l, pos, s.k, b * config.kvDim(), s.v, b * config.kvDim());
            }
            attention(s, l, batch);                        // q + cache -> attended
            s.matMul.apply(attnOutput[l], s.attended, dim, s.xb, dim, batch);
            add(s.x, s.xb, batch * dim);
            for (int b = 0; b < batch; b++) rmsNorm(s.xb, b * dim, s.x, b * dim, ffnNorm[l], dim, config.rmsEpsilon());
            projectFeedForwardInput(s, l, batch);          // xb -> hidden = silu(gate) * up
            s.matMul.apply(ffnDown[l], s.hidden, config.feedForwardLength(), s.xb, dim, batch);
            add(s.x, s.xb, batch * dim);
        }
        s.position += batch;
        if (logits) {
            int lastRow = (batch - 1) * dim;
            rmsNorm(s.xb, 0, s.x, lastRow, outputNorm, dim, config.rmsEpsilon());
            s.matMul.apply(output, s.xb, dim, s.logits, vocab, 1);
        }
    }

    /** Projects {@code s.xb} into {@code s.q}, {@code s.k} and {@code s.v} for each batch row. */
    protected abstract void projectAttentionInput(InferenceState s, int layer, int batch);

    /** Projects {@code s.xb} into {@code s.hidden} = silu(gate) * up for each batch row. */
    protected abstract void projectFeedForwardInput(InferenceState s, int layer, int batch);

    /**
     * Causal self-attention of the batch's queries over the cache. Query position p sees key
     * positions t with 0 <= p - t < sliding window (all earlier positions when there is none).
     * Query head h reads key/value head h / (n_head / n_head_kv) (grouped-query attention).
     * The (position, head) pairs are split among the thread team.
     */
    private void attention(InferenceState s, int layer, int batch) {
        s.attentionLayer = layer;
        s.matMul.forRange(batch * config.headCount(), s.attentionTask);
    }

    /** Attention for the (batch row, head) pairs {@code start .. end-1}, numbered b * n_head + h. */
    private void attentionRange(InferenceState s, int start, int end) {
        int layer = s.attentionLayer;
        int dim = config.embeddingLength();
        int heads = config.headCount();
        int headDim = config.headDim();
        int group = config.queriesPerKvHead();
        int window = config.slidingWindow();
        float[] scores = attentionScratch.get();
        if (scores.length < s.contextLength) {
            scores = new float[s.contextLength];
            attentionScratch.set(scores);
        }
        for (int task = start; task < end; task++) {
            int b = task / heads;
            int h = task % heads;
            int pos = s.position + b;
            int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
            int qOffset = b * dim + h * headDim;
            s.cache.scores(layer, h / group, first, pos, s.q, qOffset, scores);
            float max = Float.NEGATIVE_INFINITY;
            for (int t = first; t <= pos; t++) if (scores[t] > max) max = scores[t];
            float inv = 1f / VectorMath.expShifted(scores, first, pos + 1, max);
            for (int t = first; t <= pos; t++) scores[t] *= inv;
            java.util.Arrays.fill(s.attended, qOffset, qOffset + headDim, 0f);
            s.cache.addWeightedValues(layer, h / group, first, pos, scores, s.attended, qOffset);
        }
    }

    /**
     * Rotary embedding of every head of one position in place, then multiplication by {@code scale}:
     * queries take 1/sqrt(head_dim) here, after RoPE, so the softmax needs no scale (llama.cpp's phi3
     * graph; for llama the scale inside the softmax is the same product).
     */
    private void rope(InferenceState s, float[] vec, int offset, int heads, int pos, float scale) {
        int headDim = config.headDim();
        int half = config.ropeDimensions() / 2;
        int table = pos * half;
        for (int h = 0; h < heads; h++) {
            int base = offset + h * headDim;
            for (int i = 0; i < half; i++) {
                int i0, i1;
                if (config.ropeStyle() == RopeStyle.HALF_SPLIT) {
                    i0 = base + i;
                    i1 = base + i + half;
                } else {
                    i0 = base + 2 * i;
                    i1 = i0 + 1;
                }
                float c = s.ropeCos[table + i];
                float sn = s.ropeSin[table + i];
                float x0 = vec[i0];
                float x1 = vec[i1];
                vec[i0] = x0 * c - x1 * sn;
                vec[i1] = x0 * sn + x1 * c;
            }
            if (scale != 1f) {
                for (int i = 0; i < headDim; i++) vec[base + i] *= scale;
            }
        }
    }

    /** out = x / sqrt(mean(x^2) + eps) * weight; the sum of squares in double, as ggml does. */
    static void rmsNorm(float[] out, int outOffset, float[] x, int xOffset, float[] weight, int n, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOffset + i];
            ss += (double) v * v;
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) out[outOffset + i] = x[xOffset + i] * scale * weight[i];
    }

    static void add(float[] acc, float[] delta, int n) {
        for (int i = 0; i < n; i++) acc[i] += delta[i];
    }

    protected final WeightTensor matrix(String name, int rows, int cols) {
        GgufTensorInfo info = require(name);
        if (info.shape().length != 2 || info.cols() != cols || info.rows() != rows) {
            throw new GgufFormatException(file.path(), 0, "tensor '" + name + "' has shape " + java.util.Arrays.toString(info.shape())
                    + ", expected [" + cols + ", " + rows + "] for this " + config.architecture() + " model");
        }
        if (!info.type().isSupported()) {
            throw new GgufFormatException(file.path(), 0, "tensor '" + name + "' has type " + info.type() + ", which this runtime cannot compute with");
        }
        return WeightTensor.of(info.type(), file.tensorData(info), rows, cols);
    }

    protected final float[] vector(String name, int length) {
        GgufTensorInfo info = require(name);
        if (info.elementCount() != length) {
            throw new GgufFormatException(file.path(), 0, "tensor '" + name + "' has " + info.elementCount() + " elements, expected " + length);
        }
        if (!info.type().isSupported()) {
            throw new GgufFormatException(file.path(), 0, "tensor '" + name + "' has unsupported type " + info.type());
        }
        float[] out = new float[length];
        WeightTensor.of(info.type(), file.tensorData(info), 1, length).dequantizeRow(0, out, 0);
        return out;
    }

    private GgufTensorInfo require(String name) {
        GgufTensorInfo info = file.tensor(name);
        if (info == null) throw new GgufFormatException(file.path(), 0, "missing tensor '" + name + "' for architecture " + config.architecture());
        return info;
    }
}
