package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * Q5_K weights. ggml-common.h:
 * <pre>
 * typedef struct {
 *     ggml_half d;                  // super-block scale for quantized scales
 *     ggml_half dmin;               // super-block scale for quantized mins
 *     uint8_t scales[K_SCALE_SIZE]; // scales and mins, quantized with 6 bits
 *     uint8_t qh[QK_K/8];           // quants, high bit
 *     uint8_t qs[QK_K/2];           // quants, low 4 bits
 * } block_q5_K;                     // 176 bytes
 * </pre>
 * As Q4_K, plus a fifth bit: weight {@code 64c + l} (low nibble) adds 16 if bit {@code 2c} of
 * {@code qh[l]} is set, weight {@code 64c + 32 + l} (high nibble) if bit {@code 2c+1} is
 * (dequantize_row_q5_K).
 */
public final class Q5KTensor extends AbstractWeightTensor {
    static final int BLOCK_BYTES = 176;

    public Q5KTensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q5_K, data, rows, cols);
    }

    @Override
    float dotRow(long off, float[] x, int xOffset) {
        return KernelSpecies.ENABLED ? Q5KKernels.dot(data, off, blocks, x, xOffset) : dotRowScalar(off, x, xOffset);
    }

    @Override
    public Q8Activations.Format activationFormat() {
        return Q8Activations.Format.Q8_K;
    }

    /** On 4 lanes its float kernel boxes vectors (see {@link WeightTensor#floatDecodeKernelBoxes}). */
    @Override
    public boolean floatDecodeKernelBoxes() {
        return KernelSpecies.L == 4;
    }

    @Override
    float dotRowQ8(long off, Q8Activations x) {
        // the 1: every super-block (Q4KKernels.dotQ8 says why the stride is a parameter)
        return KernelSpecies.ENABLED ? Q5KKernels.dotQ8(data, off, blocks, x.q, x.d, x.bsums32, x.minsOrderSums, 1) : dotRowQ8Scalar(off, x);
    }

    /** vec_dot_q5_K_q8_K (generic). */
    @Override
    float dotRowQ8Scalar(long off, Q8Activations x) {
        return Q4KTensor.dotQ8Scalar(data, off, blocks, BLOCK_BYTES, 48, true, x);
    }

    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, xOffset += 256) {
            float d = fp16(data, off);
            float dmin = fp16(data, off + 2);
            for (int c = 0; c < 4; c++) {
                int sm1 = Q4KTensor.scaleMinK4(data, off + 4, 2 * c);
                int sm2 = Q4KTensor.scaleMinK4(data, off + 4, 2 * c + 1);
                float s1 = 0f, s2 = 0f, sx1 = 0f, sx2 = 0f;
                int xo = xOffset + 64 * c;
                for (int l = 0; l < 32; l++) {
                    int q = data.get(BYTE, off + 48 + 32 * c + l) & 0xFF;
                    int h = data.get(BYTE, off + 16 + l) & 0xFF;
                    float x1 = x[xo + l];
                    float x2 = x[xo + 32 + l];
                    s1 += ((q & 0xF) | (((h >>> (2 * c)) & 1) << 4)) * x1;
                    s2 += ((q >>> 4) | (((h >>> (2 * c + 1)) & 1) << 4)) * x2;
                    sx1 += x1;
                    sx2 += x2;
                }
                sum += d * (sm1 & 0xFF) * s1 - dmin * (sm1 >>> 8) * sx1
                        + d * (sm2 & 0xFF) * s2 - dmin * (sm2 >>> 8) * sx2;
            }
        }
        return sum;
    }

    @Override
    void dequantizeRowAt(long off, float[] out, int outOffset) {
        if (KernelSpecies.ENABLED) Q4KKernels.dequantize(data, off, blocks, out, outOffset, BLOCK_BYTES, 48, true);
        else dequantizeRowAtScalar(off, out, outOffset);
    }

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, outOffset += 256) {
            float d = fp16(data, off);
            float min = fp16(data, off + 2);
            for (int c = 0; c < 4; c++) {
                int sm1 = Q4KTensor.scaleMinK4(data, off + 4, 2 * c);
                int sm2 = Q4KTensor.scaleMinK4(data, off + 4, 2 * c + 1);
                float d1 = d * (sm1 & 0xFF), m1 = min * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xFF), m2 = min * (sm2 >>> 8);
                int o = outOffset + 64 * c;
                for (int l = 0; l < 32; l++) {
                    int q = data.get(BYTE, off + 48 + 32 * c + l) & 0xFF;
                    int h = data.get(BYTE, off + 16 + l) & 0xFF;
                    out[o + l] = d1 * ((q & 0xF) + (((h >>> (2 * c)) & 1) << 4)) - m1;
                    out[o + 32 + l] = d2 * ((q >>> 4) + (((h >>> (2 * c + 1)) & 1) << 4)) - m2;
                }
            }
        }
    }
}
