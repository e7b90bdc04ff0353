package dev.phiedge.runtime.model;

import dev.phiedge.runtime.tensor.ThreadedMatVec;
import dev.phiedge.runtime.tensor.WeightTensor;

/**
 * out[b][r] = W[r] . in[b] for every row r of W and every position b of a batch, on a fixed team of
 * threads, each taking a contiguous range of rows ({@link ThreadedMatVec}).
 *
 * <p>One position (decoding) runs the tensor's own dot kernel on the mapped row. Several positions
 * (prompt processing) dequantize each weight row once into a per-thread float buffer and dot it with
 * every position, so the weights are read once per batch instead of once per token. Nothing is
 * allocated per call: the batched task reads its arguments from fields.
 */
public final class MatMul implements AutoCloseable {
    private final ThreadedMatVec team;
    private final ThreadLocal<float[]> rowBuffer = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadedMatVec.RangeTask batchedTask = this::batchedRows;

    // Arguments of the batched product in flight (one caller at a time).
    private WeightTensor w;
    private float[] in;
    private int inStride;
    private float[] out;
    private int outStride;
    private int batch;

    public MatMul(int threads) {
        this.team = new ThreadedMatVec(threads);
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
            team.matVec(w, in, 0, out, 0);
            return;
        }
        this.w = w;
        this.in = in;
        this.inStride = inStride;
        this.out = out;
        this.outStride = outStride;
        this.batch = batch;
        try {
            team.forRange(w.rows(), batchedTask);
        } finally {
            this.w = null;
            this.in = null;
            this.out = null;
        }
    }

    private void batchedRows(int start, int end) {
        int cols = w.cols();
        float[] row = rowBuffer.get();
        if (row.length < cols) {
            row = new float[cols];
            rowBuffer.set(row);
        }
        for (int r = start; r < end; r++) {
            w.dequantizeRow(r, row, 0);
            for (int b = 0; b < batch; b++) {
                out[b * outStride + r] = VectorMath.dot(row, 0, in, b * inStride, cols);
            }
        }
    }

    @Override
    public void close() { team.close(); }
}
