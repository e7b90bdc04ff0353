package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/** F16 weights: IEEE 754 binary16 (ggml_fp16_t), 2 little-endian bytes per value, no blocks. */
public final class F16Tensor extends AbstractWeightTensor {

    public F16Tensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.F16, data, rows, cols);
    }

    @Override
    float dotRow(long off, float[] x, int xOffset) {
        return KernelSpecies.ENABLED ? F16Kernels.dot(data, off, cols, x, xOffset) : dotRowScalar(off, x, xOffset);
    }

    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int k = 0; k < cols; k++) {
            sum += fp16(data, off + 2L * k) * x[xOffset + k];
        }
        return sum;
    }

    // No Vector API dequantizeRowAt: the scalar loop below, which C2 vectorizes, is faster than the
    // conversion written out on vectors as in F16Kernels.dot (docs/performance.md, F16).

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int k = 0; k < cols; k++) {
            out[outOffset + k] = fp16(data, off + 2L * k);
        }
    }
}
