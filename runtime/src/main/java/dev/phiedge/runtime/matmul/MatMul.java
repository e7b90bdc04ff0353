package dev.phiedge.runtime.matmul;

import dev.phiedge.runtime.tensor.KernelSpecies;
import dev.phiedge.runtime.tensor.Q8Activations;
import dev.phiedge.runtime.tensor.WeightTensor;

/**
 * out[b][r] = W[r] . in[b] for every row r of W and every position b of a batch, on a fixed team of
 * threads, each taking a contiguous range of rows ({@link ThreadedMatVec}).
 *
 * <p>One position (decoding) quantizes the input once per product the way ggml does (Q8_0 blocks for
 * Q4_0/Q8_0 weights, Q8_K for the K-quants: {@link WeightTensor#activationFormat()}) and runs the
 * tensor's integer kernel on the mapped rows (on the quants as shorts or as bytes, as the
 * {@link KernelPlan} measured faster on this machine); types without one, groups whose plan says the
 * float kernel is faster, or the system property {@code phiedge.floatActivations=true} use the float
 * dot kernel. Several positions (prompt
 * processing) are quantized the same way where decoding would quantize them, then taken back as floats
 * (so a position's result equals its decoded one up to float rounding). Each weight row is dequantized
 * once per batch into a per-thread float buffer, so the weights are read once per batch instead of
 * once per token. Batches of at least one vector of positions ({@link #OUTER_PRODUCT_FROM}) are
 * transposed once and multiplied {@link OuterProductKernels#ROWS} rows at a time as sums of outer
 * products ({@link OuterProductKernels}); smaller ones, where padding to a whole vector would waste
 * most lanes, dot two rows with four positions at a time ({@link BatchDotKernels#dot2x4}). Nothing is
 * allocated per call: the batched tasks read their arguments from fields.
 *
 * <p>Thread safety: a MatMul is one inference stream's scratch (each {@code model.InferenceState} has
 * its own): the arguments of the product in flight, the quantized and transposed inputs. Use it from one
 * thread at a time. The thread team may be shared by several MatMuls (the sessions of one model):
 * {@link ThreadedMatVec} runs one product at a time, and the per-thread row buffers below belong to
 * the thread, which runs one product's task at a time.
 */
public final class MatMul implements AutoCloseable {
    /** Decode with float activations everywhere (slower; for comparisons). */
    private static final boolean FLOAT_ACTIVATIONS = Boolean.getBoolean("phiedge.floatActivations");

    /**
     * Batches from this size take the outer-product kernels: one vector of positions (16 with
     * AVX-512). Below it a padded vector would be mostly zeros and the dot kernel is faster.
     */
    static final int OUTER_PRODUCT_FROM = KernelSpecies.L;

    private final ThreadedMatVec team;
    private final KernelPlan plan;
    /** Whether {@link #close} stops the team (it was made for this MatMul, not shared). */
    private final boolean ownsTeam;
    /** Dequantized weight rows, per thread: shared by every MatMul whose tasks run on that thread. */
    private static final ThreadLocal<float[]> ROW_BUFFER = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> ACCUMULATORS = ThreadLocal.withInitial(
            () -> new float[OuterProductKernels.ROWS * OuterProductKernels.MAX_VECTORS * KernelSpecies.L]);
    private final ThreadedMatVec.RangeTask batchedTask = this::batchedRows;
    private final ThreadedMatVec.RangeTask outerProductTask = this::outerProductRows;
    private final Q8Activations quantized = new Q8Activations();
    private float[] dequantizedIn = new float[0];
    /** The batch transposed for the outer-product kernels: column k's positions at {@code k * paddedBatch}. */
    private float[] transposedIn = new float[0];
    private int paddedBatch;

    // Arguments of the batched product in flight (one caller at a time: the MatMul's owner).
    private WeightTensor w;
    private float[] in;
    private int inStride;
    private float[] out;
    private int outStride;
    private int batch;

    /** A product on a team of its own of {@code threads} threads, stopped by {@link #close}. */
    public MatMul(int threads) {
        this.team = new ThreadedMatVec(threads);
        this.ownsTeam = true;
        this.plan = KernelPlan.rules();
    }

    /** A product on a shared team, which {@link #close} leaves running (its owner closes it); built-in kernel rules. */
    public MatMul(ThreadedMatVec team) {
        this(team, KernelPlan.rules());
    }

    /** A product on a shared team with the kernels {@code plan} chose for this machine. */
    public MatMul(ThreadedMatVec team, KernelPlan plan) {
        this.team = java.util.Objects.requireNonNull(team, "team");
        this.plan = java.util.Objects.requireNonNull(plan, "plan");
        this.ownsTeam = false;
    }

    public int threads() { return team.threads(); }

    /** Runs {@code task} over {@code [0, n)} split among the team. */
    public void forRange(int n, ThreadedMatVec.RangeTask task) {
        team.forRange(n, task);
    }

    /**
     * @param in  batch-major input, position b at {@code b * inStride}
     * @param out batch-major output, position b at {@code b * outStride}
     */
    public void apply(WeightTensor w, float[] in, int inStride, float[] out, int outStride, int batch) {
        if (batch == 1) {
            Q8Activations.Format format = w.activationFormat();
            KernelPlan.Kernel kernel = FLOAT_ACTIVATIONS ? KernelPlan.Kernel.FLOAT : plan.kernel(w);
            switch (kernel) {
                case FLOAT -> team.matVec(w, in, 0, out, 0);
                case INTEGER -> team.matVec(w, quantized.quantize(format, in, 0, w.cols()), out, 0);
                case INTEGER_BYTES -> team.matVecBytes(w, quantized.quantize(format, in, 0, w.cols()), out, 0);
            }
            return;
        }
        if (!FLOAT_ACTIVATIONS && plan.quantizedActivations(w)) {
            // The positions quantized as decoding does, back as floats: the float batch kernel then
            // gives each position the integer kernel's result up to float rounding, at float-GEMM speed.
            int cols = w.cols();
            if (dequantizedIn.length < batch * cols) dequantizedIn = new float[batch * cols];
            for (int b = 0; b < batch; b++) {
                quantized.quantize(w.activationFormat(), in, b * inStride, cols).dequantize(dequantizedIn, b * cols);
            }
            in = dequantizedIn;
            inStride = cols;
        }
        boolean outerProduct = batch >= OUTER_PRODUCT_FROM;
        if (outerProduct) {
            int cols = w.cols();
            paddedBatch = OuterProductKernels.paddedBatch(batch);
            if (transposedIn.length < paddedBatch * cols) transposedIn = new float[paddedBatch * cols];
            OuterProductKernels.transpose(in, inStride, batch, cols, transposedIn, paddedBatch);
        }
        this.w = w;
        this.in = in;
        this.inStride = inStride;
        this.out = out;
        this.outStride = outStride;
        this.batch = batch;
        try {
            team.forRange(w.rows(), outerProduct ? outerProductTask : batchedTask);
        } finally {
            this.w = null;
            this.in = null;
            this.out = null;
        }
    }

    /**
     * Rows in blocks of {@link OuterProductKernels#ROWS}, dequantized once into a per-thread buffer, against
     * the transposed positions in groups of up to three vectors; a last block of fewer rows runs the
     * same kernel over the buffer's stale rows and keeps only its own results.
     */
    private void outerProductRows(int start, int end) {
        int cols = w.cols();
        int block = OuterProductKernels.ROWS;
        int lanes = KernelSpecies.L;
        float[] rows = ROW_BUFFER.get();
        if (rows.length < block * cols) {
            rows = new float[block * cols];
            ROW_BUFFER.set(rows);
        }
        float[] acc = ACCUMULATORS.get();
        int positionVectors = paddedBatch / lanes;
        for (int r = start; r < end; r += block) {
            int n = Math.min(block, end - r);
            for (int i = 0; i < n; i++) w.dequantizeRow(r + i, rows, i * cols);
            for (int v = 0; v < positionVectors; ) {
                int vectors = Math.min(OuterProductKernels.MAX_VECTORS, positionVectors - v);
                int p0 = v * lanes;
                OuterProductKernels.rows(vectors, rows, 0, cols, transposedIn, p0, paddedBatch, acc);
                int width = vectors * lanes;
                int positions = Math.min(width, batch - p0);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < positions; j++) out[(p0 + j) * outStride + r + i] = acc[i * width + j];
                }
                v += vectors;
            }
        }
    }

    /**
     * Rows in pairs, dequantized once into a per-thread buffer, against positions in fours
     * ({@link BatchDotKernels#dot2x4}); leftovers one by one in the same order.
     */
    private void batchedRows(int start, int end) {
        int cols = w.cols();
        float[] rows = ROW_BUFFER.get();
        if (rows.length < 2 * cols) {
            rows = new float[2 * cols];
            ROW_BUFFER.set(rows);
        }
        int r = start;
        for (; r + 1 < end; r += 2) {
            w.dequantizeRow(r, rows, 0);
            w.dequantizeRow(r + 1, rows, cols);
            int b = 0;
            for (; b + 3 < batch; b += 4) {
                BatchDotKernels.dot2x4(rows, 0, cols, in, b * inStride, inStride, cols, out, b * outStride + r, b * outStride + r + 1, outStride);
            }
            for (; b < batch; b++) {
                out[b * outStride + r] = BatchDotKernels.dot1(rows, 0, in, b * inStride, cols);
                out[b * outStride + r + 1] = BatchDotKernels.dot1(rows, cols, in, b * inStride, cols);
            }
        }
        if (r < end) {
            w.dequantizeRow(r, rows, 0);
            for (int b = 0; b < batch; b++) out[b * outStride + r] = BatchDotKernels.dot1(rows, 0, in, b * inStride, cols);
        }
    }

    /** Stops the team when this MatMul made it; a shared team stays as it is. */
    @Override
    public void close() {
        if (ownsTeam) team.close();
    }
}
