package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The fast (Vector API) float-activation kernels (each format's {@code dot}) equal the scalar kernels on
 * random data, up to summation order, and the fast dequantization has the scalar one's bits.
 */
public class FloatKernelsMatchScalarTest {

    /** The vector-128 surefire run sets phiedge.expectLanes=4: the JVM must really use 4 lanes, and the vector paths. */
    @org.junit.jupiter.api.Test
    void lanesAsExpected() {
        String expected = System.getProperty("phiedge.expectLanes");
        org.junit.jupiter.api.Assumptions.assumeTrue(expected != null, "phiedge.expectLanes not set");
        assertEquals(Integer.parseInt(expected), KernelSpecies.L, KernelSpecies.F.toString());
        org.junit.jupiter.api.Assertions.assertTrue(KernelSpecies.ENABLED);
    }

    /** Random weights of {@code type}: real quantizer output where there is one, else random bytes with sane scales. */
    public static MemorySegment randomWeights(GgmlType type, int rows, int cols, Random rnd) {
        float[] src = new float[rows * cols];
        for (int i = 0; i < src.length; i++) src[i] = (float) rnd.nextGaussian() * 0.05f;
        long rowBytes = type.bytesFor(cols);
        byte[] bytes = new byte[Math.toIntExact(rowBytes * rows)];
        switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0 -> {
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(Quantizer.quantize(type, src, r * cols, cols), 0, bytes, (int) (r * rowBytes), (int) rowBytes);
                }
            }
            default -> {
                rnd.nextBytes(bytes);
                MemorySegment seg = MemorySegment.ofArray(bytes);
                int[] scaleOffsets = switch (type) {
                    case Q4_K, Q5_K -> new int[] {0, 2};
                    case Q6_K -> new int[] {208};
                    case Q4_1, Q5_1 -> new int[] {0, 2};
                    case Q5_0 -> new int[] {0};
                    default -> throw new IllegalArgumentException(type.toString());
                };
                for (long b = 0; b < bytes.length / type.blockBytes(); b++) {
                    for (int so : scaleOffsets) {
                        seg.set(AbstractWeightTensor.LE_SHORT, b * type.blockBytes() + so,
                                Float.floatToFloat16((rnd.nextFloat() - 0.2f) * 0.01f));
                    }
                }
            }
        }
        return MemorySegment.ofArray(bytes);
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void fastDotEqualsScalarDotOnRandomRows(GgmlType type) {
        Random rnd = new Random(42 + type.ordinal());
        // Odd block counts exercise the unrolled loops' tails; F32/F16 also get a row length that is
        // not a multiple of any vector length.
        int[] colsList = type.blockSize() == 256 ? new int[] {256, 768, 3072} : type.blockSize() == 32
                ? new int[] {32, 96, 3072} : new int[] {7, 100, 3072};
        for (int cols : colsList) {
            int rows = 5;
            AbstractWeightTensor w = (AbstractWeightTensor) WeightTensor.of(type, randomWeights(type, rows, cols, rnd), rows, cols);
            float[] x = new float[cols + 3];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] deq = new float[cols];
            for (int r = 0; r < rows; r++) {
                w.dequantizeRow(r, deq, 0);
                double scale = 0;
                for (int k = 0; k < cols; k++) scale += Math.abs((double) deq[k] * x[3 + k]);
                float scalar = w.dotScalar(r, x, 3);
                assertEquals(scalar, w.dot(r, x, 3), 1e-5 * scale + 1e-30, type + " " + cols + " cols, row " + r);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void fastDequantizationHasTheScalarBits(GgmlType type) {
        Random rnd = new Random(77 + type.ordinal());
        int cols = type.blockSize() == 256 ? 768 : 96;
        int rows = 4;
        AbstractWeightTensor w = (AbstractWeightTensor) WeightTensor.of(type, randomWeights(type, rows, cols, rnd), rows, cols);
        float[] fast = new float[cols + 2], scalar = new float[cols + 2];
        for (int r = 0; r < rows; r++) {
            w.dequantizeRow(r, fast, 2);
            w.dequantizeRowScalar(r, scalar, 2);
            for (int k = 0; k < cols + 2; k++) {
                assertEquals(Float.floatToRawIntBits(scalar[k]), Float.floatToRawIntBits(fast[k]), type + " row " + r + " col " + k);
            }
        }
    }

    /** The F16 kernel's mask-free conversion, against Java's own, for every binary16 (subnormals, Inf, NaN, -0). */
    @org.junit.jupiter.api.Test
    void f16DotConvertsEveryHalfExactly() {
        int cols = 8 * KernelSpecies.L; // per row one six-vector chunk and one pass of the two-vector loop
        int rows = 2048; // 32 rounds of 2048 halfs
        MemorySegment data = java.lang.foreign.Arena.ofAuto().allocate(2L * cols * rows, 64);
        float[] ones = new float[cols];
        java.util.Arrays.fill(ones, 1f);
        for (int base = 0; base < 65536; base += rows) { // rows at once: row r holds half base + r at column r % cols, zeros elsewhere
            data.fill((byte) 0);
            for (int r = 0; r < rows; r++) {
                data.set(AbstractWeightTensor.LE_SHORT, (long) r * cols * 2 + 2L * (r % cols), (short) (base + r));
            }
            WeightTensor w = WeightTensor.of(GgmlType.F16, data, rows, cols);
            for (int r = 0; r < rows; r++) {
                float expected = Float.float16ToFloat((short) (base + r));
                float got = w.dot(r, ones, 0);
                if (Float.isNaN(expected)) {
                    org.junit.jupiter.api.Assertions.assertTrue(Float.isNaN(got), "half 0x" + Integer.toHexString(base + r));
                } else {
                    assertEquals(expected, got, 0f, "half 0x" + Integer.toHexString(base + r));
                }
            }
        }
    }

    /** F16 dequantization (how prompt processing reads F16 weights), against Java's conversion, for every binary16. */
    @org.junit.jupiter.api.Test
    void f16DequantizationConvertsEveryHalfExactly() {
        int cols = 65536 + 3; // every half once, then a tail shorter than any vector
        MemorySegment data = java.lang.foreign.Arena.ofAuto().allocate(2L * cols, 64);
        for (int k = 0; k < cols; k++) data.set(AbstractWeightTensor.LE_SHORT, 2L * k, (short) k);
        float[] out = new float[cols + 1];
        WeightTensor.of(GgmlType.F16, data, 1, cols).dequantizeRow(0, out, 1);
        for (int k = 0; k < cols; k++) {
            float expected = Float.float16ToFloat((short) k);
            if (Float.isNaN(expected)) {
                org.junit.jupiter.api.Assertions.assertTrue(Float.isNaN(out[1 + k]), "half 0x" + Integer.toHexString(k & 0xffff));
            } else {
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out[1 + k]), "half 0x" + Integer.toHexString(k & 0xffff));
            }
        }
    }
}
