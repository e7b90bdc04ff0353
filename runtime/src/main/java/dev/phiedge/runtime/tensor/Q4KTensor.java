package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * Q4_K weights. ggml-common.h:
 * <pre>
 * #define QK_K 256
 * #define K_SCALE_SIZE 12
 * typedef struct {
 *     ggml_half d;                  // super-block scale for quantized scales
 *     ggml_half dmin;               // super-block scale for quantized mins
 *     uint8_t scales[K_SCALE_SIZE]; // scales and mins, quantized with 6 bits
 *     uint8_t qs[QK_K/2];           // 4-bit quants
 * } block_q4_K;                     // 144 bytes
 * </pre>
 * Eight sub-blocks of 32 weights, sub-block {@code s} with 6-bit scale {@code sc[s]} and min {@code m[s]}
 * (get_scale_min_k4). The 64 weights {@code 64c .. 64c+63} come from {@code qs[32c .. 32c+31]}: low
 * nibbles first (sub-block 2c), then high nibbles (sub-block 2c+1). Weight = {@code d*sc * q - dmin*m}
 * (dequantize_row_q4_K).
 */
public final class Q4KTensor extends AbstractWeightTensor {
    static final int BLOCK_BYTES = 144;

    public Q4KTensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
    }

    /**
     * get_scale_min_k4 of ggml: the 6-bit scale (bits 0..7 of the result) and min (bits 8..15) of
     * sub-block {@code j} from the 12 bytes at {@code scalesOff}.
     */
    static int scaleMinK4(MemorySegment seg, long scalesOff, int j) {
        int sc;
        int m;
        if (j < 4) {
            sc = seg.get(BYTE, scalesOff + j) & 63;
            m = seg.get(BYTE, scalesOff + j + 4) & 63;
        } else {
            int qj4 = seg.get(BYTE, scalesOff + j + 4) & 0xFF;
            sc = (qj4 & 0xF) | (((seg.get(BYTE, scalesOff + j - 4) & 0xFF) >>> 6) << 4);
            m = (qj4 >>> 4) | (((seg.get(BYTE, scalesOff + j) & 0xFF) >>> 6) << 4);
        }
        return sc | (m << 8);
    }

    @Override
    float dotRow(long off, float[] x, int xOffset) {
        return KernelSpecies.ENABLED ? Q4KKernels.dot(data, off, blocks, x, xOffset) : dotRowScalar(off, x, xOffset);
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
        return KernelSpecies.ENABLED ? Q4KKernels.dotQ8(data, off, blocks, x.q, x.d, x.bsums32, x.minsOrderSums, 1) : dotRowQ8Scalar(off, x);
    }

    /** vec_dot_q4_K_q8_K (generic). */
    @Override
    float dotRowQ8Scalar(long off, Q8Activations x) {
        return dotQ8Scalar(data, off, blocks, BLOCK_BYTES, 16, false, x);
    }

    /**
     * vec_dot_q4_K_q8_K / vec_dot_q5_K_q8_K (generic): exact integer sums per sub-block times its
     * scale, minus the mins times Q8_K's bsums; {@code high}: Q5_K's fifth bit from {@code qh} at byte 16.
     */
    static float dotQ8Scalar(MemorySegment data, long off, int blocks, int blockBytes, int qsOffset, boolean high, Q8Activations x) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += blockBytes) {
            int sumi = 0, summ = 0;
            for (int j = 0; j < 8; j++) {
                int sm = scaleMinK4(data, off + 4, j);
                int s = 0;
                for (int l = 0; l < 32; l++) {
                    int q = ((data.get(BYTE, off + qsOffset + 32 * (j / 2) + l) & 0xFF) >>> (4 * (j & 1))) & 0xF;
                    if (high) q |= ((data.get(BYTE, off + 16 + l) >>> j) & 1) << 4;
                    s += q * x.q[256 * b + 32 * j + l];
                }
                sumi += (sm & 0xFF) * s;
                summ += (sm >>> 8) * (x.bsums[16 * b + 2 * j] + x.bsums[16 * b + 2 * j + 1]);
            }
            sum += x.d[b] * fp16(data, off) * sumi - x.d[b] * fp16(data, off + 2) * summ;
        }
        return sum;
    }

    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, xOffset += 256) {
            float d = fp16(data, off);
            float dmin = fp16(data, off + 2);
            for (int c = 0; c < 4; c++) {
                int sm1 = scaleMinK4(data, off + 4, 2 * c);
                int sm2 = scaleMinK4(data, off + 4, 2 * c + 1);
                float s1 = 0f, s2 = 0f, sx1 = 0f, sx2 = 0f;
                int xo = xOffset + 64 * c;
                for (int l = 0; l < 32; l++) {
                    int q = data.get(BYTE, off + 16 + 32 * c + l) & 0xFF;
                    float x1 = x[xo + l];
                    float x2 = x[xo + 32 + l];
                    s1 += (q & 0xF) * x1;
                    s2 += (q >>> 4) * x2;
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
        if (KernelSpecies.ENABLED) Q4KKernels.dequantize(data, off, blocks, out, outOffset, BLOCK_BYTES, 16, false);
        else dequantizeRowAtScalar(off, out, outOffset);
    }

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, outOffset += 256) {
            float d = fp16(data, off);
            float min = fp16(data, off + 2);
            for (int c = 0; c < 4; c++) {
                int sm1 = scaleMinK4(data, off + 4, 2 * c);
                int sm2 = scaleMinK4(data, off + 4, 2 * c + 1);
                float d1 = d * (sm1 & 0xFF), m1 = min * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xFF), m2 = min * (sm2 >>> 8);
                int o = outOffset + 64 * c;
                for (int l = 0; l < 32; l++) {
                    int q = data.get(BYTE, off + 16 + 32 * c + l) & 0xFF;
                    out[o + l] = d1 * (q & 0xF) - m1;
                    out[o + 32 + l] = d2 * (q >>> 4) - m2;
                }
            }
        }
    }
}
