package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/** F32 weights: 4 little-endian bytes per value, no blocks. */
public final class F32Tensor extends AbstractWeightTensor {

    public F32Tensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.F32, data, rows, cols);
    }

    @Override
    float dotRow(long off, float[] x, int xOffset) {
        return KernelSpecies.ENABLED ? F32Kernels.dot(data, off, cols, x, xOffset) : dotRowScalar(off, x, xOffset);
    }

    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int k = 0; k < cols; k++) {
            sum += data.get(LE_FLOAT, off + 4L * k) * x[xOffset + k];
        }
        return sum;
    }

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int k = 0; k < cols; k++) {
            out[outOffset + k] = data.get(LE_FLOAT, off + 4L * k);
        }
    }
}
