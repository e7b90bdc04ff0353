package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * Q4_0 weights. ggml-common.h:
 * <pre>
 * #define QK4_0 32
 * typedef struct {
 *     ggml_half d;           // delta
 *     uint8_t qs[QK4_0 / 2]; // nibbles / quants
 * } block_q4_0;              // 18 bytes
 * </pre>
 * Byte {@code j} (0..15) holds weight {@code j} in its low nibble and weight {@code j + 16} in its high
 * nibble; weight = {@code (nibble - 8) * d} (dequantize_row_q4_0).
 */
public final class Q4_0Tensor extends AbstractWeightTensor {
    static final int BLOCK_BYTES = 18;

    public Q4_0Tensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols);
    }

    @Override
    float dotRow(long off, float[] x, int xOffset) {
        return KernelSpecies.ENABLED ? Q4_0Kernels.dot(data, off, blocks, x, xOffset) : dotRowScalar(off, x, xOffset);
    }

    @Override
    public Q8Activations.Format activationFormat() {
        return Q8Activations.Format.Q8_0;
    }

    /** On 16 lanes (see {@link WeightTensor#hasByteActivationKernel}). */
    @Override
    public boolean hasByteActivationKernel() {
        return KernelSpecies.ENABLED && KernelSpecies.BYTE_ACTIVATIONS;
    }

    @Override
    float dotRowQ8Bytes(long off, byte[] xq, float[] xd) {
        return Q4_0Kernels.dotQ8Bytes(data, off, blocks, xq, xd);
    }

    /**
     * Its float kernel boxes vectors on 4 lanes in every JVM run, and on 16 lanes in some (one run of the
     * allocation tests in four, after a recompilation, 96 bytes a row): never a planned choice. The
     * built-in rule never takes it with vector kernels either ({@link #prefersQuantizedActivations}).
     */
    @Override
    public boolean floatDecodeKernelBoxes() {
        return KernelSpecies.ENABLED;
    }

    /**
     * With vector kernels, at every row length and width (the integer kernel measured faster on 16, 8
     * and 4 lanes, at 3072 and 8192 columns: docs/performance.md). The scalar kernels keep
     * {@link AbstractWeightTensor#QUANTIZED_FROM_COLS}.
     */
    @Override
    public boolean prefersQuantizedActivations() {
        return KernelSpecies.ENABLED || cols >= QUANTIZED_FROM_COLS;
    }

    @Override
    float dotRowQ8(long off, Q8Activations x) {
        return KernelSpecies.ENABLED ? Q4_0Kernels.dotQ8(data, off, blocks, x.q, x.d) : dotRowQ8Scalar(off, x);
    }

    /** vec_dot_q4_0_q8_0 (generic): per block the exact integer sum times d_w * d_x. */
    @Override
    float dotRowQ8Scalar(long off, Q8Activations x) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES) {
            int s = 0;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, off + 2 + j) & 0xFF;
                s += ((q & 0x0F) - 8) * x.q[32 * b + j] + ((q >>> 4) - 8) * x.q[32 * b + j + 16];
            }
            sum += s * (fp16(data, off) * x.d[b]);
        }
        return sum;
    }
    @Override
    float dotRowScalar(long off, float[] x, int xOffset) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, xOffset += 32) {
            float d = fp16(data, off);
            float s = 0f;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, off + 2 + j) & 0xFF;
                s += ((q & 0x0F) - 8) * x[xOffset + j] + ((q >>> 4) - 8) * x[xOffset + j + 16];
            }
            sum += d * s;
        }
        return sum;
    }

    @Override
    void dequantizeRowAt(long off, float[] out, int outOffset) {
        if (KernelSpecies.ENABLED) Q4_0Kernels.dequantize(data, off, blocks, out, outOffset);
        else dequantizeRowAtScalar(off, out, outOffset);
    }

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, outOffset += 32) {
            float d = fp16(data, off);
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, off + 2 + j) & 0xFF;
                out[outOffset + j] = ((q & 0x0F) - 8) * d;
                out[outOffset + j + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }
}
