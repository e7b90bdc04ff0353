package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * Q6_K weights. ggml-common.h:
 * <pre>
 * typedef struct {
 *     uint8_t ql[QK_K/2];      // quants, lower 4 bits
 *     uint8_t qh[QK_K/4];      // quants, upper 2 bits
 *     int8_t  scales[QK_K/16]; // scales, quantized with 8 bits
 *     ggml_half d;             // super-block scale
 * } block_q6_K;                // 210 bytes
 * </pre>
 * Two halves of 128 weights; in half {@code n}, with {@code ql = ql + 64n}, {@code qh = qh + 32n},
 * {@code sc = scales + 8n} and {@code l} in 0..31, {@code is = l/16}:
 * weight {@code l} = {@code d*sc[is] * ((ql[l] & 0xF | (qh[l] & 3) << 4) - 32)}, weight {@code l+32}
 * uses {@code ql[l+32] & 0xF}, bits 2..3 of qh and {@code sc[is+2]}, weight {@code l+64} uses
 * {@code ql[l] >> 4}, bits 4..5, {@code sc[is+4]}, weight {@code l+96} uses {@code ql[l+32] >> 4},
 * bits 6..7, {@code sc[is+6]} (dequantize_row_q6_K).
 */
public final class Q6KTensor extends AbstractWeightTensor {
    static final int BLOCK_BYTES = 210;

    public Q6KTensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
    }

    /**
     * The float-activation kernel. With 4 lanes (128-bit NEON) the vector kernel boxes vectors and is
     * no faster than the scalar one, so there the scalar kernel is used; decoding takes the integer
     * kernel anyway (docs/performance.md).
     */
    @Override
    float dotRow(long off, float[] x, int xOffset) {
        return KernelSpecies.ENABLED && KernelSpecies.L != 4 ? Q6KKernels.dot(data, off, blocks, x, xOffset) : dotRowScalar(off, x, xOffset);
    }

    @Override
    public Q8Activations.Format activationFormat() {
        return Q8Activations.Format.Q8_K;
    }

    /**
     * Only where C2 unrolls the integer kernel's loops ({@link KernelSpecies#LOOPS_UNROLLED}): rolled, the
     * integer kernel is no faster than the float one (docs/performance.md).
     */
    @Override
    public boolean prefersQuantizedActivations() {
        return KernelSpecies.ENABLED && KernelSpecies.LOOPS_UNROLLED;
    }

    @Override
    float dotRowQ8(long off, Q8Activations x) {
        return KernelSpecies.ENABLED ? Q6KKernels.dotQ8(data, off, blocks, x.q, x.d, x.bsums) : dotRowQ8Scalar(off, x);
    }

    /** vec_dot_q6_K_q8_K (generic): per 16 weights the integer sum of (q - 32) * x times the int8 scale. */
    @Override
    float dotRowQ8Scalar(long off, Q8Activations x) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES) {
            int sumi = 0;
            for (int n = 0; n < 2; n++) {
                long ql = off + 64 * n;
                long qh = off + 128 + 32 * n;
                long sc = off + 192 + 8 * n;
                int xo = 256 * b + 128 * n;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int lo = data.get(BYTE, ql + l) & 0xFF;
                    int hi = data.get(BYTE, ql + l + 32) & 0xFF;
                    int h = data.get(BYTE, qh + l) & 0xFF;
                    sumi += data.get(BYTE, sc + is) * ((((lo & 0xF) | ((h & 3) << 4)) - 32) * x.q[xo + l]);
                    sumi += data.get(BYTE, sc + is + 2) * ((((hi & 0xF) | (((h >>> 2) & 3) << 4)) - 32) * x.q[xo + l + 32]);
                    sumi += data.get(BYTE, sc + is + 4) * ((((lo >>> 4) | (((h >>> 4) & 3) << 4)) - 32) * x.q[xo + l + 64]);
                    sumi += data.get(BYTE, sc + is + 6) * ((((hi >>> 4) | (((h >>> 6) & 3) << 4)) - 32) * x.q[xo + l + 96]);
                }
            }
            sum += x.d[b] * fp16(data, off + 208) * sumi;
        }
        return sum;
    }
    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, xOffset += 256) {
            float d = fp16(data, off + 208);
            for (int n = 0; n < 2; n++) {
                long ql = off + 64 * n;
                long qh = off + 128 + 32 * n;
                long sc = off + 192 + 8 * n;
                int xo = xOffset + 128 * n;
                for (int is = 0; is < 2; is++) {
                    float s1 = 0f, s2 = 0f, s3 = 0f, s4 = 0f;
                    for (int l = 16 * is; l < 16 * is + 16; l++) {
                        int lo = data.get(BYTE, ql + l) & 0xFF;
                        int hi = data.get(BYTE, ql + l + 32) & 0xFF;
                        int h = data.get(BYTE, qh + l) & 0xFF;
                        s1 += (((lo & 0xF) | ((h & 3) << 4)) - 32) * x[xo + l];
                        s2 += (((hi & 0xF) | (((h >>> 2) & 3) << 4)) - 32) * x[xo + l + 32];
                        s3 += (((lo >>> 4) | (((h >>> 4) & 3) << 4)) - 32) * x[xo + l + 64];
                        s4 += (((hi >>> 4) | (((h >>> 6) & 3) << 4)) - 32) * x[xo + l + 96];
                    }
                    sum += d * (data.get(BYTE, sc + is) * s1 + data.get(BYTE, sc + is + 2) * s2
                            + data.get(BYTE, sc + is + 4) * s3 + data.get(BYTE, sc + is + 6) * s4);
                }
            }
        }
        return sum;
    }

    @Override
    void dequantizeRowAt(long off, float[] out, int outOffset) {
        if (KernelSpecies.ENABLED) Q6KKernels.dequantize(data, off, blocks, out, outOffset);
        else dequantizeRowAtScalar(off, out, outOffset);
    }

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, outOffset += 256) {
            float d = fp16(data, off + 208);
            for (int n = 0; n < 2; n++) {
                long ql = off + 64 * n;
                long qh = off + 128 + 32 * n;
                long sc = off + 192 + 8 * n;
                int o = outOffset + 128 * n;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int lo = data.get(BYTE, ql + l) & 0xFF;
                    int hi = data.get(BYTE, ql + l + 32) & 0xFF;
                    int h = data.get(BYTE, qh + l) & 0xFF;
                    out[o + l] = d * data.get(BYTE, sc + is) * (((lo & 0xF) | ((h & 3) << 4)) - 32);
                    out[o + l + 32] = d * data.get(BYTE, sc + is + 2) * (((hi & 0xF) | (((h >>> 2) & 3) << 4)) - 32);
                    out[o + l + 64] = d * data.get(BYTE, sc + is + 4) * (((lo >>> 4) | (((h >>> 4) & 3) << 4)) - 32);
                    out[o + l + 96] = d * data.get(BYTE, sc + is + 6) * (((hi >>> 4) | (((h >>> 6) & 3) << 4)) - 32);
                }
            }
        }
    }
}
