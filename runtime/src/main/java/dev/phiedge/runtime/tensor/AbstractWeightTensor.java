package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Shape checks and row addressing shared by the per-type tensors. Subclasses supply three kernels over
 * one row starting at byte {@code off} of {@link #data}: the fast {@link #dotRow}, the scalar
 * {@link #dotRowScalar} (the tests' ground truth) and {@link #dequantizeRowAt}. Arguments are checked
 * here once per call, so the kernels do no checks of their own beyond the JVM's (hoisted) ones.
 */
abstract class AbstractWeightTensor implements WeightTensor {

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    /**
     * With 16 lanes (AVX-512), Q8_0 rows at least this long decode faster with quantized activations;
     * shorter ones with float activations, which then still fit L1 next to the streamed weights (long
     * rows are not split into column chunks to keep x in L1: slower still). With 8 or 4 lanes the
     * integer kernels win at every length, and Q4_0's wins everywhere
     * ({@link Q4_0Tensor#prefersQuantizedActivations}). Figures: docs/performance.md.
     */
    static final int QUANTIZED_FROM_COLS = 6144;

    final GgmlType type;
    final MemorySegment data;
    final int rows;
    final int cols;
    final long rowBytes;
    /** Blocks per row. */
    final int blocks;

    AbstractWeightTensor(GgmlType type, MemorySegment data, int rows, int cols) {
        Objects.requireNonNull(data, "data");
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException(type + " tensor: dimensions must be positive, got " + rows + " x " + cols);
        }
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " tensor: row length " + cols + " is not a multiple of the block size " + type.blockSize());
        }
        this.type = type;
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / type.blockSize();
        this.rowBytes = (long) blocks * type.blockBytes();
        long expected = Math.multiplyExact(rowBytes, (long) rows);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException(type + " tensor " + rows + " x " + cols + " needs " + expected
                    + " bytes (" + rowBytes + " per row), but the segment has " + data.byteSize());
        }
    }

    @Override public final GgmlType type() { return type; }
    @Override public final int rows() { return rows; }
    @Override public final int cols() { return cols; }
    @Override public final MemorySegment data() { return data; }
    @Override public final long rowBytes() { return rowBytes; }

    @Override
    public final float dot(int row, float[] x, int xOffset) {
        Objects.checkIndex(row, rows);
        Objects.checkFromIndexSize(xOffset, cols, x.length);
        return dotRow(row * rowBytes, x, xOffset);
    }

    /** The scalar kernel: slow, simple, and the reference the fast kernel is tested against. */
    @Override
    public final float dotScalar(int row, float[] x, int xOffset) {
        Objects.checkIndex(row, rows);
        Objects.checkFromIndexSize(xOffset, cols, x.length);
        return dotRowScalar(row * rowBytes, x, xOffset);
    }

    @Override
    public final void dequantizeRow(int row, float[] out, int outOffset) {
        Objects.checkIndex(row, rows);
        Objects.checkFromIndexSize(outOffset, cols, out.length);
        dequantizeRowAt(row * rowBytes, out, outOffset);
    }

    @Override
    public final void matVec(float[] x, int xOffset, float[] out, int outOffset, int rowStart, int rowEnd) {
        Objects.checkFromToIndex(rowStart, rowEnd, rows);
        Objects.checkFromIndexSize(xOffset, cols, x.length);
        Objects.checkFromToIndex(outOffset + rowStart, outOffset + rowEnd, out.length);
        long off = rowStart * rowBytes;
        for (int r = rowStart; r < rowEnd; r++, off += rowBytes) {
            out[outOffset + r] = dotRow(off, x, xOffset);
        }
    }

    /** Row {@code row} . {@code x} with the integer kernel (x quantized in {@link #activationFormat()}). */
    public final float dot(int row, Q8Activations x) {
        Objects.checkIndex(row, rows);
        checkActivations(x);
        return dotRowQ8(row * rowBytes, x);
    }

    /** The scalar integer kernel: ggml's generic vec_dot, the ground truth of {@link #dot(int, Q8Activations)}. */
    public final float dotScalar(int row, Q8Activations x) {
        Objects.checkIndex(row, rows);
        checkActivations(x);
        return dotRowQ8Scalar(row * rowBytes, x);
    }

    @Override
    public final void matVec(Q8Activations x, float[] out, int outOffset, int rowStart, int rowEnd) {
        Objects.checkFromToIndex(rowStart, rowEnd, rows);
        checkActivations(x);
        Objects.checkFromToIndex(outOffset + rowStart, outOffset + rowEnd, out.length);
        long off = rowStart * rowBytes;
        for (int r = rowStart; r < rowEnd; r++, off += rowBytes) {
            out[outOffset + r] = dotRowQ8(off, x);
        }
    }

    @Override
    public final void matVecBytes(Q8Activations x, float[] out, int outOffset, int rowStart, int rowEnd) {
        if (!hasByteActivationKernel()) throw new UnsupportedOperationException(type + " has no byte-activation kernel");
        Objects.checkFromToIndex(rowStart, rowEnd, rows);
        checkActivations(x);
        Objects.checkFromToIndex(outOffset + rowStart, outOffset + rowEnd, out.length);
        byte[] xb = x.quantBytes();
        long off = rowStart * rowBytes;
        for (int r = rowStart; r < rowEnd; r++, off += rowBytes) {
            out[outOffset + r] = dotRowQ8Bytes(off, xb, x.d);
        }
    }

    /** The byte-activation integer dot of the row at byte {@code off} (types with {@link #hasByteActivationKernel()}). */
    float dotRowQ8Bytes(long off, byte[] xq, float[] xd) {
        throw new UnsupportedOperationException(type + " has no byte-activation kernel");
    }

    private void checkActivations(Q8Activations x) {
        if (activationFormat() == Q8Activations.Format.F32) {
            throw new UnsupportedOperationException(type + " has no quantized-activation kernel");
        }
        if (x.format != activationFormat() || x.n != cols) {
            throw new IllegalArgumentException(type + " tensor with " + cols + " columns needs " + activationFormat()
                    + " activations of that length, got " + x.format + " of " + x.n);
        }
    }

    /** The scalar dequantization, the ground truth of {@link #dequantizeRow}. */
    public final void dequantizeRowScalar(int row, float[] out, int outOffset) {
        Objects.checkIndex(row, rows);
        Objects.checkFromIndexSize(outOffset, cols, out.length);
        dequantizeRowAtScalar(row * rowBytes, out, outOffset);
    }

    /** Integer dot of the row at byte {@code off}; by default the scalar one. */
    float dotRowQ8(long off, Q8Activations x) {
        return dotRowQ8Scalar(off, x);
    }

    float dotRowQ8Scalar(long off, Q8Activations x) {
        throw new UnsupportedOperationException(type + " has no quantized-activation kernel");
    }

    /** Fast dot of the row at byte {@code off}; by default the scalar kernel. */
    float dotRow(long off, float[] x, int xOffset) {
        return dotRowScalar(off, x, xOffset);
    }

    abstract float dotRowScalar(long off, float[] x, int xOffset);

    /** Fast dequantization of the row at byte {@code off}; by default the scalar one. Same bits either way. */
    void dequantizeRowAt(long off, float[] out, int outOffset) {
        dequantizeRowAtScalar(off, out, outOffset);
    }

    abstract void dequantizeRowAtScalar(long off, float[] out, int outOffset);

    /** The fp16 at byte {@code off} of {@code seg}. */
    static float fp16(MemorySegment seg, long off) {
        return Float.float16ToFloat(seg.get(LE_SHORT, off));
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + rows + " x " + cols + ", " + data.byteSize() + " bytes]";
    }
}
