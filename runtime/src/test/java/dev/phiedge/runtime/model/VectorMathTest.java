package dev.phiedge.runtime.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The forward pass's elementwise kernels against float64 evaluations of their formulas. */
class VectorMathTest {

    @Test
    void swigluIsSiluOfTheGateTimesUpWithinAFewUlps() {
        Random rnd = new Random(4);
        int n = 8192 + 13; // a lane tail
        float[] gate = new float[n], up = new float[n + 5], out = new float[n + 2];
        for (int i = 0; i < n; i++) gate[i] = (float) (rnd.nextGaussian() * 4);
        for (int i = 0; i < up.length; i++) up[i] = (float) rnd.nextGaussian();
        float[] edges = {0f, -0f, 1e-30f, -1e-30f, 20f, -20f, 88f, -88f, 100f, -100f, 1e30f, -1e30f};
        System.arraycopy(edges, 0, gate, 0, edges.length);
        System.arraycopy(edges, 0, gate, n - edges.length, edges.length); // in the scalar tail too
        VectorMath.swiglu(gate, 0, up, 5, out, 2, n);
        for (int i = 0; i < n; i++) {
            double g = gate[i];
            double expected = g / (1 + Math.exp(-g)) * up[5 + i];
            float got = out[2 + i];
            assertTrue(Float.isFinite(got) || !Double.isFinite(expected), "element " + i + " (g = " + g + ")");
            assertEquals(expected, got, 4 * Math.ulp((float) expected) + 1e-37, "element " + i + " (g = " + g + ", u = " + up[5 + i] + ")");
        }
        assertEquals(0f, out[0]);
        assertEquals(0f, out[1]);
    }

    /** Rows of random halves (and one saturated) in a native segment, {@code rowBytes} apart from {@code off}. */
    private static java.lang.foreign.MemorySegment halfRows(Random rnd, long off, long rowBytes, int rows, int n) {
        var m = java.lang.foreign.Arena.ofAuto().allocate(off + rowBytes * rows, 64);
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < n; k++) {
                m.set(HALF, off + r * rowBytes + 2L * k, KvCache.toHalf((float) (rnd.nextGaussian() * (k == 3 ? 1e5 : 2))));
            }
        }
        return m;
    }

    private static final java.lang.foreign.ValueLayout.OfShort HALF =
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private static double half(java.lang.foreign.MemorySegment m, long off) {
        return Float.float16ToFloat(m.get(HALF, off));
    }

    @Test
    void halfRowDotsAreTheScoresOfEveryRow() {
        Random rnd = new Random(11);
        for (int n : new int[] {96, 64, 100, 7}) { // 100 and 7: tails shorter than two vectors
            long rowBytes = 2L * n + 6, off = 10;     // rows need not be packed or aligned
            int rows = 37;
            var m = halfRows(rnd, off, rowBytes, rows, n);
            float[] x = new float[n + 3];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] out = new float[rows + 2];
            VectorMath.dotHalfRows(m, off, rowBytes, rows, n, x, 3, out, 2);
            for (int r = 0; r < rows; r++) {
                double expected = 0, scale = 0;
                for (int k = 0; k < n; k++) {
                    double product = half(m, off + r * rowBytes + 2L * k) * x[3 + k];
                    expected += product;
                    scale += Math.abs(product);
                }
                assertEquals(expected, out[2 + r], 1e-6 * scale, n + " halves, row " + r);
            }
            assertEquals(0f, out[0]);
            assertEquals(0f, out[1]);
        }
    }

    @Test
    void weightedHalfRowsAreAddedToTheOutput() {
        Random rnd = new Random(12);
        for (int n : new int[] {96, 64, 80, 100, 7}) { // 80 = five vectors of 16, 100 and 7: scalar tails
            long rowBytes = 2L * n + 2, off = 6;
            int rows = 41;
            var m = halfRows(rnd, off, rowBytes, rows, n);
            float[] p = new float[rows + 1];
            for (int r = 0; r < rows; r++) p[1 + r] = rnd.nextFloat();
            float[] out = new float[n + 4], before = new float[n + 4];
            for (int i = 0; i < out.length; i++) before[i] = out[i] = (float) rnd.nextGaussian();
            VectorMath.addWeightedHalfRows(m, off, rowBytes, rows, n, p, 1, out, 4);
            for (int k = 0; k < n; k++) {
                double expected = before[4 + k], scale = Math.abs(before[4 + k]);
                for (int r = 0; r < rows; r++) {
                    double term = p[1 + r] * half(m, off + r * rowBytes + 2L * k);
                    expected += term;
                    scale += Math.abs(term);
                }
                assertEquals(expected, out[4 + k], 1e-6 * scale, n + " halves, element " + k);
            }
            for (int i = 0; i < 4; i++) assertEquals(before[i], out[i]);
        }
    }

    /** The cache kernels' four-instruction conversion, against Java's, for every finite half. */
    @Test
    void everyFiniteHalfIsConvertedExactly() {
        int n = 65536;
        var m = java.lang.foreign.Arena.ofAuto().allocate(2L * n, 64);
        for (int k = 0; k < n; k++) {
            boolean finite = (k & 0x7c00) != 0x7c00;
            m.set(HALF, 2L * k, (short) (finite ? k : 0));
        }
        float[] out = new float[n];
        VectorMath.addWeightedHalfRows(m, 0, 2L * n, 1, n, new float[] {1f}, 0, out, 0);
        for (int k = 0; k < n; k++) {
            if ((k & 0x7c00) == 0x7c00) continue;
            assertEquals(Float.float16ToFloat((short) k), out[k], 0f, "half 0x" + Integer.toHexString(k));
        }
    }

    @Test
    void theCacheSaturatesAtTheLargestFiniteHalf() {
        assertEquals(0x7bff, KvCache.toHalf(1e6f) & 0xffff);              // 65504
        assertEquals(0xfbff, KvCache.toHalf(Float.NEGATIVE_INFINITY) & 0xffff);
        assertEquals(0x3c00, KvCache.toHalf(1f) & 0xffff);
        assertEquals(0x0001, KvCache.toHalf(0x1p-24f) & 0xffff);          // the smallest subnormal
    }

    @Test
    void shiftedExponentialsAndTheirSumAreTheSoftmaxNumerators() {
        Random rnd = new Random(13);
        int n = 300 + 5;
        float[] x = new float[n + 4];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * 6);
        float[] before = x.clone();
        float max = 9f;
        float sum = VectorMath.expShifted(x, 4, 4 + n, max);
        double expectedSum = 0;
        for (int i = 4; i < 4 + n; i++) {
            double e = Math.exp(before[i] - max); // the difference in float, as the kernel takes it
            expectedSum += e;
            assertEquals(e, x[i], 4 * Math.ulp((float) e) + 1e-37, "element " + i);
        }
        assertEquals(expectedSum, sum, 1e-5 * expectedSum);
        for (int i = 0; i < 4; i++) assertEquals(before[i], x[i]);
    }
}
