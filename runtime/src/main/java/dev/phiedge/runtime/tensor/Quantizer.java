package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Reference quantizers with ggml's exact semantics, and the fp16 / bf16 conversions.
 *
 * <ul>
 *   <li>Q8_0: {@code quantize_row_q8_0_ref} (ggml-quants.c): {@code d = amax/127}, {@code id = 1/d},
 *       {@code q = roundf(x*id)} (half away from zero), d stored as fp16.</li>
 *   <li>Q4_0: {@code quantize_row_q4_0_ref}: {@code max} = the signed value of largest magnitude,
 *       {@code d = max / -8}, {@code q = min(15, (int8_t)(x*id + 8.5f))}, low nibble = weight j, high
 *       nibble = weight j+16.</li>
 *   <li>F16: round to nearest even (F16C {@code _cvtss_sh}, same as {@link Float#floatToFloat16}).</li>
 *   <li>BF16: {@code ggml_compute_fp32_to_bf16}: round to nearest even on the high 16 bits, NaN made
 *       quiet.</li>
 * </ul>
 * These are what {@code ggml_quantize_chunk} does without an importance matrix.
 */
public final class Quantizer {
    private static final ValueLayout.OfShort LE_SHORT = AbstractWeightTensor.LE_SHORT;
    private static final ValueLayout.OfFloat LE_FLOAT = AbstractWeightTensor.LE_FLOAT;

    private Quantizer() {}

    public static float fp16ToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    public static short floatToFp16(float f) {
        return Float.floatToFloat16(f);
    }

    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat(h << 16);
    }

    public static short floatToBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64); // NaN: force quiet
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /**
     * Quantizes {@code n} values of {@code x} (a multiple of 32) into Q8_0 blocks written at
     * {@code out[outOffset ...]} ({@code n / 32 * 34} bytes).
     */
    public static void quantizeRowQ8_0(float[] x, int xOffset, int n, MemorySegment out, long outOffset) {
        checkBlocks(n, 32, x, xOffset);
        for (int b = 0; b < n / 32; b++, xOffset += 32, outOffset += 34) {
            float amax = 0f;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xOffset + j]));
            float d = amax / 127;
            float id = d != 0f ? 1.0f / d : 0f;
            out.set(LE_SHORT, outOffset, Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) {
                out.set(ValueLayout.JAVA_BYTE, outOffset + 2 + j, (byte) roundHalfAwayFromZero(x[xOffset + j] * id));
            }
        }
    }

    /**
     * Quantizes {@code n} values of {@code x} (a multiple of 32) into Q4_0 blocks written at
     * {@code out[outOffset ...]} ({@code n / 32 * 18} bytes).
     */
    public static void quantizeRowQ4_0(float[] x, int xOffset, int n, MemorySegment out, long outOffset) {
        checkBlocks(n, 32, x, xOffset);
        for (int b = 0; b < n / 32; b++, xOffset += 32, outOffset += 18) {
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < 32; j++) {
                float v = x[xOffset + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0f ? 1.0f / d : 0f;
            out.set(LE_SHORT, outOffset, Float.floatToFloat16(d));
            for (int j = 0; j < 16; j++) {
                float x0 = x[xOffset + j] * id;
                float x1 = x[xOffset + 16 + j] * id;
                int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f));
                int xi1 = Math.min(15, (byte) (int) (x1 + 8.5f));
                out.set(ValueLayout.JAVA_BYTE, outOffset + 2 + j, (byte) (xi0 | (xi1 << 4)));
            }
        }
    }

    /**
     * Encodes {@code n} values as {@code type} (F32, F16, BF16, Q8_0 or Q4_0), as a new array of
     * {@code type.bytesFor(n)} bytes. Convenient for writing synthetic models row by row.
     */
    public static byte[] quantize(GgmlType type, float[] x, int xOffset, int n) {
        byte[] bytes = new byte[Math.toIntExact(type.bytesFor(n))];
        MemorySegment out = MemorySegment.ofArray(bytes);
        Objects.checkFromIndexSize(xOffset, n, x.length);
        switch (type) {
            case F32 -> { for (int i = 0; i < n; i++) out.set(LE_FLOAT, 4L * i, x[xOffset + i]); }
            case F16 -> { for (int i = 0; i < n; i++) out.set(LE_SHORT, 2L * i, floatToFp16(x[xOffset + i])); }
            case BF16 -> { for (int i = 0; i < n; i++) out.set(LE_SHORT, 2L * i, floatToBf16(x[xOffset + i])); }
            case Q8_0 -> quantizeRowQ8_0(x, xOffset, n, out, 0);
            case Q4_0 -> quantizeRowQ4_0(x, xOffset, n, out, 0);
            default -> throw new IllegalArgumentException("no quantizer for " + type + " (available: F32, F16, BF16, Q8_0, Q4_0)");
        }
        return bytes;
    }

    /** C's {@code roundf}: halfway cases away from zero. */
    static float roundHalfAwayFromZero(float v) {
        double r = Math.floor(Math.abs((double) v) + 0.5);
        return (float) Math.copySign(r, v);
    }

    private static void checkBlocks(int n, int block, float[] x, int xOffset) {
        if (n % block != 0) throw new IllegalArgumentException(n + " values is not a multiple of the block size " + block);
        Objects.checkFromIndexSize(xOffset, n, x.length);
    }
}
