package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * Q8_0 weights. ggml-common.h:
 * <pre>
 * #define QK8_0 32
 * typedef struct {
 *     ggml_half d;       // delta
 *     int8_t  qs[QK8_0]; // quants
 * } block_q8_0;          // 34 bytes
 * </pre>
 * Weight {@code j} of a block is {@code qs[j] * d}.
 */
public final class Q8_0Tensor extends AbstractWeightTensor {
    static final int BLOCK_BYTES = 34;

    public Q8_0Tensor(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols);
    }

    @Override
    float dotRow(long off, float[] x, int xOffset) {
        return KernelSpecies.ENABLED ? Q8_0Kernels.dot(data, off, blocks, x, xOffset) : dotRowScalar(off, x, xOffset);
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
        return Q8_0Kernels.dotQ8Bytes(data, off, blocks, xq, xd);
    }

    /**
     * On 4 lanes its float kernel boxes vectors in every JVM run, on 8 lanes in some (the tensor tests
     * at {@code -XX:MaxVectorSize=32}, after the other tensor tests' compilations: 160 bytes a block); see
     * {@link WeightTensor#floatDecodeKernelBoxes}.
     */
    @Override
    public boolean floatDecodeKernelBoxes() {
        return KernelSpecies.ENABLED && KernelSpecies.L <= 8;
    }

    /** See {@link AbstractWeightTensor#QUANTIZED_FROM_COLS}. */
    @Override
    public boolean prefersQuantizedActivations() {
        return cols >= QUANTIZED_FROM_COLS || KernelSpecies.ENABLED && KernelSpecies.L < 16;
    }

    @Override
    float dotRowQ8(long off, Q8Activations x) {
        return KernelSpecies.ENABLED ? Q8_0Kernels.dotQ8(data, off, blocks, x.q, x.d) : dotRowQ8Scalar(off, x);
    }

    /** vec_dot_q8_0_q8_0 (generic): per block the exact integer sum times d_w * d_x. */
    @Override
    float dotRowQ8Scalar(long off, Q8Activations x) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES) {
            int s = 0;
            for (int j = 0; j < 32; j++) s += data.get(BYTE, off + 2 + j) * x.q[32 * b + j];
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
            for (int j = 0; j < 32; j++) {
                s += data.get(BYTE, off + 2 + j) * x[xOffset + j];
            }
            sum += d * s;
        }
        return sum;
    }

    @Override
    void dequantizeRowAt(long off, float[] out, int outOffset) {
        if (KernelSpecies.ENABLED) Q8_0Kernels.dequantize(data, off, blocks, out, outOffset);
        else dequantizeRowAtScalar(off, out, outOffset);
    }

    @Override
    void dequantizeRowAtScalar(long off, float[] out, int outOffset) {
        for (int b = 0; b < blocks; b++, off += BLOCK_BYTES, outOffset += 32) {
            float d = fp16(data, off);
            for (int j = 0; j < 32; j++) {
                out[outOffset + j] = data.get(BYTE, off + 2 + j) * d;
            }
        }
    }
}
