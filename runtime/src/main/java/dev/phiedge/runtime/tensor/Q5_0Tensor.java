package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * Q5_0 weights. ggml-common.h:
 * <pre>
 * #define QK5_0 32
 * typedef struct {
 *     ggml_half d;           // delta
 *     uint8_t qh[4];         // 5-th bit of quants
 *     uint8_t qs[QK5_0 / 2]; // nibbles / quants
 * } block_q5_0;              // 22 bytes
 * </pre>
 * With {@code qh} read as a little-endian uint32, weight {@code j} (0..15) is
 * {@code ((qs[j] & 0xF) | bit j of qh << 4) - 16} times d and weight {@code j + 16} is
 * {@code ((qs[j] >> 4) | bit (j + 16) of qh << 4) - 16} times d (dequantize_row_q5_0).
 */
public final class Q5_0Tensor extends AbstractWeightTensor {
    static final int BLOCK_BYTES = 22;

    public Q5_0Tensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q5_0, data, rows, cols);
    }

    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, xOffset += 32) {
            float d = fp16(data, off);
            int qh = data.get(LE_INT, off + 2);
            float s = 0f;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, off + 6 + j) & 0xFF;
                int x0 = ((q & 0x0F) | (((qh >>> j) << 4) & 0x10)) - 16;
                int x1 = ((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16;
                s += x0 * x[xOffset + j] + x1 * x[xOffset + j + 16];
            }
            sum += d * s;
        }
        return sum;
    }

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, outOffset += 32) {
            float d = fp16(data, off);
            int qh = data.get(LE_INT, off + 2);
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, off + 6 + j) & 0xFF;
                int x0 = ((q & 0x0F) | (((qh >>> j) << 4) & 0x10)) - 16;
                int x1 = ((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16;
                out[outOffset + j] = x0 * d;
                out[outOffset + j + 16] = x1 * d;
            }
        }
    }
}
