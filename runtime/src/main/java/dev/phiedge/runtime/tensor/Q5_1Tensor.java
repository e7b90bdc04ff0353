package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * Q5_1 weights. ggml-common.h:
 * <pre>
 * #define QK5_1 32
 * typedef struct {
 *     ggml_half d;           // delta
 *     ggml_half m;           // min
 *     uint8_t qh[4];         // 5-th bit of quants
 *     uint8_t qs[QK5_1 / 2]; // nibbles / quants
 * } block_q5_1;              // 24 bytes
 * </pre>
 * As Q5_0 but unsigned: weight = {@code q5 * d + m} (dequantize_row_q5_1).
 */
public final class Q5_1Tensor extends AbstractWeightTensor {
    static final int BLOCK_BYTES = 24;

    public Q5_1Tensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q5_1, data, rows, cols);
    }

    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, xOffset += 32) {
            float d = fp16(data, off);
            float m = fp16(data, off + 2);
            int qh = data.get(LE_INT, off + 4);
            float s = 0f;
            float sx = 0f;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, off + 8 + j) & 0xFF;
                int q0 = (q & 0x0F) | (((qh >>> j) << 4) & 0x10);
                int q1 = (q >>> 4) | ((qh >>> (j + 12)) & 0x10);
                float x0 = x[xOffset + j];
                float x1 = x[xOffset + j + 16];
                s += q0 * x0 + q1 * x1;
                sx += x0 + x1;
            }
            sum += d * s + m * sx;
        }
        return sum;
    }

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, outOffset += 32) {
            float d = fp16(data, off);
            float m = fp16(data, off + 2);
            int qh = data.get(LE_INT, off + 4);
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, off + 8 + j) & 0xFF;
                int q0 = (q & 0x0F) | (((qh >>> j) << 4) & 0x10);
                int q1 = (q >>> 4) | ((qh >>> (j + 12)) & 0x10);
                out[outOffset + j] = q0 * d + m;
                out[outOffset + j + 16] = q1 * d + m;
            }
        }
    }
}
