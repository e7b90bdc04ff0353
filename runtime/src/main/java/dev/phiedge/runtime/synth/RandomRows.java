package dev.phiedge.runtime.synth;

import dev.phiedge.runtime.gguf.GgmlType;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Fills rows of one ggml type with seeded random weights of mean about 0 and standard deviation about
 * {@code sigma}, fast enough to write gigabytes in seconds: quantized blocks are written directly, as
 * random quant bits plus finite fp16 scales chosen so that the dequantized weights have that spread
 * (the speed of a product does not depend on the values; finite, moderate weights keep the forward
 * pass finite). Float types draw from a table of normal samples.
 *
 * <p>Block layouts as in ggml-common.h (see the tensor classes): for a uniform quant q in
 * {@code [0, 2^b)}, the spread is {@code 2^b / sqrt(12)} levels, the mean {@code (2^b - 1) / 2}.
 * K-quant sub-block scales are drawn from 8..15; K-quant mins are set to centre each sub-block.
 */
final class RandomRows {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORTS = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle FLOATS = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final int TABLE_BITS = 12;
    private static final float MEAN_SUB_SCALE = 11.5f; // mean of the sub-block scales 8..15
    private static final double UNIFORM_STD = 1 / Math.sqrt(12);

    private final GgmlType type;
    private final int cols;
    private final float sigma;
    private final SplittableRandom random;
    private final byte[] row;
    private final float[] normal; // float types: mean + sigma * N(0,1) samples
    private final short[] normalHalf;

    /** Rows of {@code cols} weights ~ mean + sigma * noise (mean only for float types: norm weights). */
    RandomRows(GgmlType type, int cols, float mean, float sigma, SplittableRandom random) {
        this.type = type;
        this.cols = cols;
        this.sigma = sigma;
        this.random = random;
        this.row = new byte[Math.toIntExact(type.bytesFor(cols))];
        if (type == GgmlType.F32 || type == GgmlType.F16) {
            normal = new float[1 << TABLE_BITS];
            normalHalf = new short[1 << TABLE_BITS];
            for (int i = 0; i < normal.length; i++) {
                normal[i] = (float) (mean + sigma * random.nextGaussian());
                normalHalf[i] = Float.floatToFloat16(normal[i]);
            }
        } else {
            normal = null;
            normalHalf = null;
        }
    }

    /** Bytes of one row. */
    int rowBytes() { return row.length; }

    /** The next random row; the array is reused by the next call. */
    byte[] next() {
        switch (type) {
            case F32 -> { for (int i = 0; i < cols; i++) FLOATS.set(row, 4 * i, normal[index()]); }
            case F16 -> fillHalves();
            case Q8_0 -> blocks(34, 8);
            case Q4_0 -> blocks(18, 4);
            case Q4_K -> kBlocks(144, 4);
            case Q5_K -> kBlocks(176, 5);
            case Q6_K -> q6kBlocks();
            default -> throw new IllegalArgumentException("no random rows for " + type);
        }
        return row;
    }

    private int index() { return random.nextInt() >>> (32 - TABLE_BITS); }

    private void fillHalves() {
        int i = 0;
        for (; i + 4 <= cols; i += 4) {
            long bits = random.nextLong();
            for (int j = 0; j < 4; j++, bits >>>= 16) SHORTS.set(row, 2 * (i + j), normalHalf[(int) (bits & ((1 << TABLE_BITS) - 1))]);
        }
        for (; i < cols; i++) SHORTS.set(row, 2 * i, normalHalf[index()]);
    }

    private void randomBytes() {
        int i = 0;
        for (; i + 8 <= row.length; i += 8) LONGS.set(row, i, random.nextLong());
        for (; i < row.length; i++) row[i] = (byte) random.nextInt();
    }

    /** A block scale giving spread sigma to quants of {@code bits} bits, jittered by +-25% per block. */
    private float scale(int bits, float subScale) {
        double levelsStd = (1 << bits) * UNIFORM_STD;
        return (float) (sigma / (levelsStd * subScale) * (0.75 + 0.5 * random.nextDouble()));
    }

    /** Q8_0 and Q4_0: an fp16 d first in each block, quants random (Q8_0 signed, Q4_0 offset by 8). */
    private void blocks(int blockBytes, int bits) {
        randomBytes();
        for (int b = 0; b < row.length; b += blockBytes) SHORTS.set(row, b, Float.floatToFloat16(scale(bits, 1f)));
    }

    /**
     * Q4_K and Q5_K: d, dmin, then 12 bytes of 6-bit scales and mins (get_scale_min_k4): bytes 0..3
     * scales 0..3, bytes 4..7 mins 0..3, bytes 8..11 scale (low nibble) and min (high nibble) of
     * sub-blocks 4..7. With every scale and min below 16 the top two bits of bytes 0..7 stay zero.
     * Weight = d*sc*q - dmin*m with m = sc and dmin = d * mean(q): centred sub-blocks.
     */
    private void kBlocks(int blockBytes, int bits) {
        randomBytes();
        float qMean = ((1 << bits) - 1) / 2f;
        for (int b = 0; b < row.length; b += blockBytes) {
            float d = scale(bits, MEAN_SUB_SCALE);
            SHORTS.set(row, b, Float.floatToFloat16(d));
            SHORTS.set(row, b + 2, Float.floatToFloat16(d * qMean));
            long r = random.nextLong();
            for (int j = 0; j < 8; j++, r >>>= 3) {
                int s = 8 + (int) (r & 7);
                if (j < 4) {
                    row[b + 4 + j] = (byte) s;
                    row[b + 8 + j] = (byte) s;
                } else {
                    row[b + 8 + j] = (byte) (s | s << 4);
                }
            }
        }
    }

    /** Q6_K: ql[128], qh[64], 16 int8 scales (8..15), fp16 d last. Weight = d*sc*(q - 32). */
    private void q6kBlocks() {
        randomBytes();
        for (int b = 0; b < row.length; b += 210) {
            long r = random.nextLong();
            for (int j = 0; j < 16; j++, r >>>= 3) row[b + 192 + j] = (byte) (8 + (r & 7));
            SHORTS.set(row, b + 208, Float.floatToFloat16(scale(6, MEAN_SUB_SCALE)));
        }
    }
}
