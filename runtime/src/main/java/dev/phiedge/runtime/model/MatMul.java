package dev.phiedge.runtime.model;

import dev.phiedge.runtime.tensor.WeightTensor;

/**
 * out[b][r] = W[r] . in[b] for every row r of W and every position b of a batch. Kept behind this
 * interface so that the forward pass does not change when the kernels or the threading do.
 */
@FunctionalInterface
public interface MatMul {

    /**
     * @param in       batch-major input, position b at {@code b * inStride}
     * @param out      batch-major output, position b at {@code b * outStride}
     */
    void apply(WeightTensor w, float[] in, int inStride, float[] out, int outStride, int batch);

    /** The plain reference: one row at a time, one position at a time, on the calling thread. */
    static MatMul singleThreaded() {
        return (w, in, inStride, out, outStride, batch) -> {
            for (int b = 0; b < batch; b++) w.matVec(in, b * inStride, out, b * outStride, 0, w.rows());
        };
    }
}
