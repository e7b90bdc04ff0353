package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.matmul.ThreadedMatVec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static dev.phiedge.runtime.tensor.QuantVectors.COLS;
import static dev.phiedge.runtime.tensor.QuantVectors.NX;
import static dev.phiedge.runtime.tensor.QuantVectors.ROWS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Quantized activations and the integer kernels: the quants equal ggml's {@code xq.q8_0} / {@code xq.q8_K}
 * bytes, the integer dots (fast and scalar) equal ggml's {@code dot.<type>} (its own vec_dot with
 * quantized activations), and the fast kernels equal the scalar ones on random rows.
 */
class Q8ActivationsTest {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static QuantVectors qv;
    private static float[] x;

    @BeforeAll
    static void open() throws Exception {
        qv = QuantVectors.open();
        x = qv.floats("x");
    }

    @AfterAll
    static void close() {
        qv.close();
    }

    @Test
    void q8_0QuantsAndScalesAreGgmlsBytes() {
        MemorySegment xq = qv.bytes("xq.q8_0");
        long rowBytes = COLS / 32 * 34;
        Q8Activations a = new Q8Activations();
        for (int j = 0; j < NX; j++) {
            a.quantize(Q8Activations.Format.Q8_0, x, j * COLS, COLS);
            for (int b = 0; b < COLS / 32; b++) {
                long o = j * rowBytes + 34L * b;
                assertEquals(Float.float16ToFloat(xq.get(LE_SHORT, o)), a.d[b], "x" + j + " block " + b + " scale");
                int sum = 0;
                for (int i = 0; i < 32; i++) {
                    assertEquals(xq.get(ValueLayout.JAVA_BYTE, o + 2 + i), a.quant(32 * b + i), "x" + j + " quant " + (32 * b + i));
                    sum += a.quant(32 * b + i);
                }
                assertEquals(a.d[b] * sum, a.sums[b]);
            }
        }
    }

    @Test
    void q8_KQuantsScalesAndBsumsAreGgmlsBytes() {
        MemorySegment xq = qv.bytes("xq.q8_K");
        long rowBytes = COLS / 256 * 292;
        Q8Activations a = new Q8Activations();
        for (int j = 0; j < NX; j++) {
            a.quantize(Q8Activations.Format.Q8_K, x, j * COLS, COLS);
            for (int b = 0; b < COLS / 256; b++) {
                long o = j * rowBytes + 292L * b;
                assertEquals(xq.get(LE_FLOAT, o), a.d[b], "x" + j + " block " + b + " scale");
                for (int i = 0; i < 256; i++) {
                    assertEquals(xq.get(ValueLayout.JAVA_BYTE, o + 4 + i), a.quant(256 * b + i), "x" + j + " quant " + (256 * b + i));
                }
                for (int g = 0; g < 16; g++) {
                    assertEquals(xq.get(LE_SHORT, o + 260 + 2L * g), a.bsums[16 * b + g], "x" + j + " bsum " + g);
                }
                // the mins term's order: sub-blocks 0, 4, 1, 5, 2, 6, 3, 7, each the sum of ggml's two bsums
                int[] order = {0, 4, 1, 5, 2, 6, 3, 7};
                for (int lane = 0; lane < 8; lane++) {
                    int sub = order[lane];
                    int expected = xq.get(LE_SHORT, o + 260 + 4L * sub) + xq.get(LE_SHORT, o + 262 + 4L * sub);
                    assertEquals(expected, a.minsOrderSums[8 * b + lane], "x" + j + " block " + b + " mins-order sum " + lane);
                }
            }
            for (int pad = 0; pad < 8; pad++) assertEquals(0, a.minsOrderSums[COLS / 32 + pad], "padding " + pad);
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void integerDotsMatchGgmlsVecDot(GgmlType type) {
        AbstractWeightTensor w = (AbstractWeightTensor) qv.weights(type);
        float[] dot = qv.floats("dot." + QuantVectors.name(type));
        float[] deq = qv.floats("deq." + QuantVectors.name(type));
        Q8Activations a = new Q8Activations();
        float[] out = new float[ROWS];
        for (int j = 0; j < NX; j++) {
            a.quantize(w.activationFormat(), x, j * COLS, COLS);
            w.matVec(a, out, 0, 0, ROWS);
            for (int r = 0; r < ROWS; r++) {
                double scale = 0;
                for (int k = 0; k < COLS; k++) scale += Math.abs((double) deq[r * COLS + k] * x[j * COLS + k]);
                float expected = dot[r * NX + j];
                String where = type + " row " + r + " x" + j;
                // ggml sums the same integers; only the float summation order differs
                assertEquals(expected, w.dot(r, a), 2e-6 * scale + 1e-30, where + " (fast kernel)");
                assertEquals(expected, w.dotScalar(r, a), 2e-6 * scale + 1e-30, where + " (scalar kernel)");
                assertEquals(w.dot(r, a), out[r], where + " (matVec)");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void fastIntegerDotEqualsScalarOnRandomRows(GgmlType type) {
        Random rnd = new Random(11 + type.ordinal());
        int[] colsList = type.blockSize() == 256 ? new int[] {256, 768, 3072} : new int[] {32, 96, 3072};
        Q8Activations a = new Q8Activations();
        for (int cols : colsList) {
            int rows = 5;
            AbstractWeightTensor w = (AbstractWeightTensor) WeightTensor.of(type, FloatKernelsMatchScalarTest.randomWeights(type, rows, cols, rnd), rows, cols);
            float[] v = new float[cols + 3];
            for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
            a.quantize(w.activationFormat(), v, 3, cols);
            float[] deq = new float[cols];
            for (int r = 0; r < rows; r++) {
                w.dequantizeRow(r, deq, 0);
                double scale = 0;
                for (int k = 0; k < cols; k++) scale += Math.abs((double) deq[k] * v[3 + k]);
                float scalar = w.dotScalar(r, a);
                assertEquals(scalar, w.dot(r, a), 1e-5 * scale + 1e-30, type + " " + cols + " cols, row " + r);
                // and the quantized-activation dot is close to the float one (ggml's ~1% activation error)
                assertEquals(w.dotScalar(r, v, 3), scalar, 0.02 * scale + 1e-30, type + " " + cols + " cols, row " + r + " vs float activations");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void poolMatVecEqualsSingleThreaded(int threads) {
        Random rnd = new Random(5);
        int rows = 67, cols = 512;
        Q8Activations a = new Q8Activations();
        try (ThreadedMatVec pool = new ThreadedMatVec(threads)) {
            for (GgmlType type : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                WeightTensor w = WeightTensor.of(type, FloatKernelsMatchScalarTest.randomWeights(type, rows, cols, rnd), rows, cols);
                float[] v = new float[cols];
                for (int i = 0; i < cols; i++) v[i] = (float) rnd.nextGaussian();
                a.quantize(w.activationFormat(), v, 0, cols);
                float[] expected = new float[rows + 1];
                w.matVec(a, expected, 1, 0, rows);
                for (int repeat = 0; repeat < 20; repeat++) {
                    float[] actual = new float[rows + 1];
                    pool.matVec(w, a, actual, 1);
                    assertArrayEquals(expected, actual, type + " with " + threads + " threads");
                }
            }
        }
    }

    @Test
    void mismatchedActivationsAreRejected() {
        WeightTensor q4 = qv.weights(GgmlType.Q4_0);
        WeightTensor f16 = qv.weights(GgmlType.F16);
        Q8Activations a = new Q8Activations().quantize(Q8Activations.Format.Q8_K, x, 0, COLS);
        float[] out = new float[ROWS];
        assertThrows(IllegalArgumentException.class, () -> q4.matVec(a, out, 0, 0, ROWS));
        assertThrows(UnsupportedOperationException.class, () -> f16.matVec(a, out, 0, 0, ROWS));
        assertEquals(Q8Activations.Format.F32, f16.activationFormat());
        assertThrows(IllegalArgumentException.class, () -> a.quantize(Q8Activations.Format.Q8_0, x, 0, 100));
        assertThrows(IllegalArgumentException.class, () -> a.quantize(Q8Activations.Format.F32, x, 0, 32));
    }
}
