package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * Q4_1 weights. ggml-common.h:
 * <pre>
 * #define QK4_1 32
 * typedef struct {
 *     ggml_half d;           // delta
 *     ggml_half m;           // min
 *     uint8_t qs[QK4_1 / 2]; // nibbles / quants
 * } block_q4_1;              // 20 bytes
 * </pre>
 * Byte {@code j} holds weight {@code j} (low nibble) and {@code j + 16} (high); weight = {@code nibble * d + m}.
 */
public final class Q4_1Tensor extends AbstractWeightTensor {
    static final int BLOCK_BYTES = 20;

    public Q4_1Tensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_1, data, rows, cols);
    }

    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, xOffset += 32) {
            float d = fp16(data, off);
            float m = fp16(data, off + 2);
            float s = 0f;
            float sx = 0f;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, off + 4 + j) & 0xFF;
                float x0 = x[xOffset + j];
                float x1 = x[xOffset + j + 16];
                s += (q & 0x0F) * x0 + (q >>> 4) * x1;
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
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, off + 4 + j) & 0xFF;
                out[outOffset + j] = (q & 0x0F) * d + m;
                out[outOffset + j + 16] = (q >>> 4) * d + m;
            }
        }
    }
}
