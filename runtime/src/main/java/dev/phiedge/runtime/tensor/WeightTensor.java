package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * A {@code rows x cols} weight matrix in one ggml type, backed by a {@link MemorySegment} (normally a
 * slice of the mapped GGUF file: never copied). Row {@code r} occupies bytes
 * {@code [r*rowBytes, (r+1)*rowBytes)}, where {@code rowBytes = cols / blockSize * blockBytes}.
 *
 * <p>In GGUF terms {@code cols} is {@code ne[0]} (the contiguous dimension) and {@code rows} is the
 * product of the other dimensions. The activations are plain {@code float[]}; {@link #dot} is the fast
 * kernel (Vector API where the type has one), and every implementation also keeps its scalar kernel as
 * {@code dotScalar}, the ground truth of the tests.
 */
public interface WeightTensor {

    GgmlType type();

    int rows();

    int cols();

    /** The weights, exactly {@code rows * rowBytes} bytes. */
    MemorySegment data();

    /** Bytes of one row. */
    default long rowBytes() {
        return type().bytesFor(cols());
    }

    /** {@code sum_k w[row][k] * x[xOffset + k]} for {@code k} in {@code [0, cols)}. */
    float dot(int row, float[] x, int xOffset);

    /** The same dot with the scalar kernel: slow, simple, the ground truth the fast kernels are held to. */
    float dotScalar(int row, float[] x, int xOffset);

    /** Writes the {@code cols} weights of {@code row} as floats to {@code out[outOffset ...]}. */
    void dequantizeRow(int row, float[] out, int outOffset);

    /** {@code out[outOffset + r] = dot(r, x, xOffset)} for {@code r} in {@code [rowStart, rowEnd)}. */
    default void matVec(float[] x, int xOffset, float[] out, int outOffset, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            out[outOffset + r] = dot(r, x, xOffset);
        }
    }

    /** {@link #matVec(float[], int, float[], int, int, int)} over every row. */
    default void matVec(float[] x, int xOffset, float[] out, int outOffset) {
        matVec(x, xOffset, out, outOffset, 0, rows());
    }

    /**
     * The activation encoding of this type's integer kernel (ggml's {@code vec_dot_type}):
     * {@link Q8Activations.Format#Q8_0} for Q4_0 and Q8_0, {@link Q8Activations.Format#Q8_K} for the
     * K-quants, {@link Q8Activations.Format#F32} where there is none (then only the float methods apply).
     */
    default Q8Activations.Format activationFormat() {
        return Q8Activations.Format.F32;
    }

    /**
     * Whether decoding should use the integer kernel (quantizing the activations) rather than the float
     * one: true where there is one and it was measured faster (Q6_K only where C2 unrolls its loops,
     * {@code -XX:LoopUnrollLimit=300} or more: otherwise it only breaks even).
     */
    default boolean prefersQuantizedActivations() {
        return activationFormat() != Q8Activations.Format.F32;
    }

    /**
     * Whether this type has a second integer kernel that reads the activation quants as bytes
     * ({@link Q8Activations#quantBytes}) instead of shorts, {@link #matVecBytes}: Q8_0 and Q4_0 on 16
     * float lanes. It computes the same sums in the same order as the short kernel (the same result,
     * bit for bit) from half the activation bytes; which of the two is faster depends on the core's L1
     * and the row length, so a kernel plan measures it.
     */
    default boolean hasByteActivationKernel() {
        return false;
    }

    /**
     * {@link #matVec(Q8Activations, float[], int, int, int)} with the byte-activation kernel.
     *
     * @throws UnsupportedOperationException where {@link #hasByteActivationKernel()} is false
     */
    default void matVecBytes(Q8Activations x, float[] out, int outOffset, int rowStart, int rowEnd) {
        throw new UnsupportedOperationException(type() + " has no byte-activation kernel");
    }

    /**
     * Whether this type's float decode kernel boxes vectors at this JVM's vector width, so that a
     * kernel plan must not choose it (the built-in rule never does): true for Q4_0, Q8_0, Q4_K and
     * Q5_K on 4 float lanes (128-bit vectors, as on ARM NEON), where DecodeKernelAllocationTest found
     * them allocating on every row, for Q8_0 on 8 lanes (in some JVM runs) and for Q4_0 at every width
     * (on 16 lanes in some JVM runs).
     */
    default boolean floatDecodeKernelBoxes() {
        return false;
    }

    /**
     * {@code out[outOffset + r]} = row {@code r} . {@code x} for {@code r} in {@code [rowStart, rowEnd)},
     * with {@code x} quantized in {@link #activationFormat()} (ggml's way: integer block dots).
     *
     * @throws UnsupportedOperationException where {@link #activationFormat()} is F32
     */
    default void matVec(Q8Activations x, float[] out, int outOffset, int rowStart, int rowEnd) {
        throw new UnsupportedOperationException(type() + " has no quantized-activation kernel");
    }

    /**
     * The tensor class for {@code type}.
     *
     * @throws IllegalArgumentException for a type without kernels, non-positive dimensions, a row length
     *                                  that is not a whole number of blocks, or a segment whose size is
     *                                  not exactly {@code rows * rowBytes}
     */
    static WeightTensor of(GgmlType type, MemorySegment data, int rows, int cols) {
        if (type == null) throw new IllegalArgumentException("tensor type is null");
        return switch (type) {
            case F32 -> new F32Tensor(data, rows, cols);
            case F16 -> new F16Tensor(data, rows, cols);
            case BF16 -> new BF16Tensor(data, rows, cols);
            case Q4_0 -> new Q4_0Tensor(data, rows, cols);
            case Q4_1 -> new Q4_1Tensor(data, rows, cols);
            case Q5_0 -> new Q5_0Tensor(data, rows, cols);
            case Q5_1 -> new Q5_1Tensor(data, rows, cols);
            case Q8_0 -> new Q8_0Tensor(data, rows, cols);
            case Q4_K -> new Q4KTensor(data, rows, cols);
            case Q5_K -> new Q5KTensor(data, rows, cols);
            case Q6_K -> new Q6KTensor(data, rows, cols);
            default -> throw new IllegalArgumentException("tensor type " + type + " is not supported (supported: "
                    + "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)");
        };
    }
}
