package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.util.Objects;

/**
 * An activation vector quantized the way ggml does before an integer dot product (its
 * {@code vec_dot_type}): {@link Format#Q8_0} (blocks of 32, fp16-rounded scale {@code amax/127},
 * x86's half-to-even rounding; for Q4_0 and Q8_0 weights) or {@link Format#Q8_K} (blocks of 256,
 * f32 scale {@code max/-127} of the signed extreme, sums of each 16 quants; for the K-quants). The
 * quants are kept widened to {@code short} so the kernels load them without a conversion.
 *
 * <p>A reusable buffer: {@link #quantize} overwrites it; nothing is allocated after construction
 * (the arrays grow only when a longer vector is quantized).
 */
public final class Q8Activations {

    /** ggml's activation encodings. */
    public enum Format {
        /** Weights take float activations. */
        F32(1),
        /** block_q8_0: 32 quants and an fp16 scale. */
        Q8_0(32),
        /** block_q8_K: 256 quants, an f32 scale and 16 sums of 16 quants. */
        Q8_K(256);

        final int blockSize;

        Format(int blockSize) {
            this.blockSize = blockSize;
        }
    }

    private static final float ROUND = 12582912f; // 1.5 * 2^23: (v + ROUND) - ROUND rounds half to even for |v| < 2^22

    Format format = Format.F32;
    int n;
    /** The quants, as shorts in -127..127 (Q8_0) or -128..127 (Q8_K). */
    short[] q = new short[0];
    /** The same quants as bytes, for the kernels that read them so ({@link #quantBytes}; 16 lanes only). */
    byte[] qb = new byte[0];
    /** Per block: the scale. */
    float[] d = new float[0];
    /** Q8_0: per block, {@code d * sum(q)}. Q8_K: per 16 quants, {@code sum(q)} (ggml's bsums). */
    float[] sums = new float[0];
    int[] bsums = new int[0];
    /** Q8_K: per 32 quants, {@code sum(q)} (pairs of bsums: the K-quants' sub-blocks). */
    int[] bsums32 = new int[0];
    /**
     * Q8_K: {@link #bsums32} in the lane order of the K-quant kernels' mins term, per block sub-blocks
     * 0, 4, 1, 5, 2, 6, 3, 7 (int lane 2k holds byte k of a 64-bit word's low half, lane 2k + 1 byte k
     * of its high half: see {@link Q4KKernels#dotQ8}), then 8 zeros at the end so that a 16-lane
     * load at the last block stays in bounds.
     */
    int[] minsOrderSums = new int[0];

    public Format format() { return format; }

    public int length() { return n; }

    /** Quantizes {@code x[xOffset .. xOffset + n)} ({@code n} a multiple of the format's block size). */
    public Q8Activations quantize(Format format, float[] x, int xOffset, int n) {
        Objects.requireNonNull(format, "format");
        if (format == Format.F32) throw new IllegalArgumentException("F32 activations are not quantized");
        if (n % format.blockSize != 0) {
            throw new IllegalArgumentException(n + " values is not a multiple of " + format + "'s block size " + format.blockSize);
        }
        Objects.checkFromIndexSize(xOffset, n, x.length);
        int blocks = n / format.blockSize;
        if (q.length < n) q = new short[n];
        if (qb.length < n) qb = new byte[n];
        if (d.length < blocks) d = new float[blocks];
        if (sums.length < blocks) sums = new float[blocks];
        if (bsums.length < n / 16) bsums = new int[n / 16];
        if (bsums32.length < n / 32) bsums32 = new int[n / 32];
        if (minsOrderSums.length < n / 32 + 8) minsOrderSums = new int[n / 32 + 8];
        this.format = format;
        this.n = n;
        if (format == Format.Q8_0) {
            for (int b = 0; b < blocks; b++) quantizeQ8_0Block(x, xOffset + 32 * b, b);
        } else {
            for (int b = 0; b < blocks; b++) quantizeQ8_KBlock(x, xOffset + 256 * b, b);
        }
        return this;
    }

    /**
     * Writes the quantized values back as floats, {@code q[i] * d[block]}: a float product with them
     * equals the integer kernel's result up to float rounding (how batches match single positions).
     */
    public void dequantize(float[] out, int outOffset) {
        Objects.checkFromIndexSize(outOffset, n, out.length);
        int bs = format.blockSize;
        for (int i = 0; i < n; i++) out[outOffset + i] = q[i] * d[i / bs];
    }

    /**
     * The quants as bytes (they fit: -128..127), written with the shorts where a byte kernel exists
     * ({@link KernelSpecies#BYTE_ACTIVATIONS}; other widths leave them unwritten): half the bytes, for
     * cores whose L1 does not hold a long row's short quants beside the streamed weights.
     */
    byte[] quantBytes() {
        return qb;
    }

    /** The quant {@code i} (tests). */
    int quant(int i) {
        Objects.checkIndex(i, n);
        return q[i];
    }

    /** quantize_row_q8_0 as the AVX build does it: id = 127/amax, round half to even, d = fp16(amax/127). */
    private void quantizeQ8_0Block(float[] x, int xo, int b) {
        float amax = 0f;
        if (KernelSpecies.ENABLED) {
            FloatVector m = FloatVector.zero(KernelSpecies.F);
            for (int j = 0; j < 32; j += KernelSpecies.L) m = m.max(FloatVector.fromArray(KernelSpecies.F, x, xo + j).abs());
            amax = m.reduceLanes(VectorOperators.MAX); // max is exact in any order
        } else {
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xo + j]));
        }
        float dd = amax / 127f;
        float id = amax != 0f ? 127f / amax : 0f;
        int sum = roundInto(x, xo, 32, id, 32 * b);
        float d16 = Float.float16ToFloat(Float.floatToFloat16(dd));
        d[b] = d16;
        sums[b] = d16 * sum;
    }

    /** quantize_row_q8_K_ref: iscale = -127/max (max the signed extreme), nearest_int, clamp 127, d = 1/iscale. */
    private void quantizeQ8_KBlock(float[] x, int xo, int b) {
        float amax = 0f, max = 0f;
        for (int j = 0; j < 256; j++) {
            float ax = Math.abs(x[xo + j]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + j];
            }
        }
        int base = 256 * b;
        if (amax == 0f) {
            d[b] = 0f;
            java.util.Arrays.fill(q, base, base + 256, (short) 0);
            java.util.Arrays.fill(qb, base, base + 256, (byte) 0);
            java.util.Arrays.fill(bsums, 16 * b, 16 * b + 16, 0);
            java.util.Arrays.fill(bsums32, 8 * b, 8 * b + 8, 0);
            java.util.Arrays.fill(minsOrderSums, 8 * b, 8 * b + 8, 0);
            return;
        }
        float iscale = -127f / max;
        for (int g = 0; g < 16; g++) {
            bsums[16 * b + g] = roundInto(x, xo + 16 * g, 16, iscale, base + 16 * g);
        }
        d[b] = 1f / iscale;
        for (int j = 0; j < 8; j++) bsums32[8 * b + j] = bsums[16 * b + 2 * j] + bsums[16 * b + 2 * j + 1];
        for (int k = 0; k < 4; k++) {
            minsOrderSums[8 * b + 2 * k] = bsums32[8 * b + k];
            minsOrderSums[8 * b + 2 * k + 1] = bsums32[8 * b + 4 + k];
        }
    }

    /** q[qo + j] = min(127, rint(x[xo + j] * scale)) for j in [0, count); returns the quants' sum. */
    private int roundInto(float[] x, int xo, int count, float scale, int qo) {
        int sum = 0;
        if (KernelSpecies.ENABLED && count % KernelSpecies.L == 0) {
            FloatVector s = FloatVector.broadcast(KernelSpecies.F, scale);
            for (int j = 0; j < count; j += KernelSpecies.L) {
                FloatVector v = FloatVector.fromArray(KernelSpecies.F, x, xo + j).mul(s).add(ROUND).sub(ROUND);
                IntVector i = ((IntVector) v.convertShape(VectorOperators.F2I, KernelSpecies.I, 0)).min(127);
                ((ShortVector) i.convertShape(VectorOperators.I2S, KernelSpecies.SHORTS_L, 0)).intoArray(q, qo + j);
                if (KernelSpecies.BYTE_ACTIVATIONS) { // 16 ints to 16 bytes keeps the lane count; narrower widths have no byte kernel
                    ((ByteVector) i.convertShape(VectorOperators.I2B, KernelSpecies.BYTES_16, 0)).intoArray(qb, qo + j);
                }
                sum += i.reduceLanes(VectorOperators.ADD); // integer: exact in any order
            }
        } else {
            for (int j = 0; j < count; j++) {
                int v = Math.min(127, (int) Math.rint(x[xo + j] * scale));
                q[qo + j] = (short) v;
                sum += v;
            }
        }
        return sum;
    }
}
