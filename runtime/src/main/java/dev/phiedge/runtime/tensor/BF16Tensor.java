package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/** BF16 weights (ggml_bf16_t): the high 16 bits of an f32, 2 little-endian bytes per value, no blocks. */
public final class BF16Tensor extends AbstractWeightTensor {

    public BF16Tensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.BF16, data, rows, cols);
    }

    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int k = 0; k < cols; k++) {
            sum += Quantizer.bf16ToFloat(data.get(LE_SHORT, off + 2L * k)) * x[xOffset + k];
        }
        return sum;
    }

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int k = 0; k < cols; k++) {
            out[outOffset + k] = Quantizer.bf16ToFloat(data.get(LE_SHORT, off + 2L * k));
        }
    }
}
