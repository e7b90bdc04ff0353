package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.phiedge.runtime.tensor.QuantVectors.COLS;
import static dev.phiedge.runtime.tensor.QuantVectors.NX;
import static dev.phiedge.runtime.tensor.QuantVectors.ROWS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every tensor type against ggml's own numbers (quant-vectors.gguf). */
class ReferenceVectorsTest {
    private static QuantVectors qv;
    private static float[] x;
    private static float[] src;

    @BeforeAll
    static void open() throws Exception {
        qv = QuantVectors.open();
        x = qv.floats("x");
        src = qv.floats("src");
    }

    @AfterAll
    static void close() {
        qv.close();
    }

    /** ggml's dequantization of w.type; for F32 the source itself. */
    private static float[] expectedDequantized(GgmlType type) {
        return type == GgmlType.F32 ? src : qv.floats("deq." + QuantVectors.name(type));
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void dequantizeRowIsBitIdenticalToGgml(GgmlType type) {
        WeightTensor w = qv.weights(type);
        float[] expected = expectedDequantized(type);
        float[] row = new float[COLS + 3];
        for (int r = 0; r < ROWS; r++) {
            w.dequantizeRow(r, row, 3);
            for (int k = 0; k < COLS; k++) {
                float e = expected[r * COLS + k];
                float a = row[3 + k];
                if (Float.floatToRawIntBits(e) != Float.floatToRawIntBits(a)) {
                    throw new AssertionError(type + " row " + r + " col " + k + ": expected " + e + " but got " + a);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void dotMatchesFloat64DotOfDequantizedWeights(GgmlType type) {
        AbstractWeightTensor w = (AbstractWeightTensor) qv.weights(type);
        float[] deq = expectedDequantized(type);
        float[] dotf = type == GgmlType.F32 ? null : qv.floats("dotf." + QuantVectors.name(type));
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < NX; j++) {
                double exact = 0;
                double scale = 0;
                for (int k = 0; k < COLS; k++) {
                    exact += (double) deq[r * COLS + k] * x[j * COLS + k];
                    scale += Math.abs((double) deq[r * COLS + k] * x[j * COLS + k]);
                }
                float expected = dotf == null ? (float) exact : dotf[r * NX + j];
                if (dotf != null) assertEquals((float) exact, expected, 1e-6 * scale, "test's own float64 dot agrees with dotf");
                String where = type + " row " + r + " x" + j;
                assertEquals(expected, w.dot(r, x, j * COLS), 1e-5 * scale, where + " (fast kernel)");
                assertEquals(expected, w.dotScalar(r, x, j * COLS), 1e-5 * scale, where + " (scalar kernel)");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void matVecEqualsRowByRowDot(GgmlType type) {
        WeightTensor w = qv.weights(type);
        float[] out = new float[ROWS + 2];
        w.matVec(x, COLS, out, 2, 1, ROWS);
        assertEquals(0f, out[2], "rows outside the range are not written");
        for (int r = 1; r < ROWS; r++) {
            assertEquals(w.dot(r, x, COLS), out[2 + r], "row " + r);
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F16", "BF16", "Q8_0", "Q4_0"})
    void quantizerReproducesGgmlBytes(GgmlType type) {
        MemorySegment expected = qv.bytes("w." + QuantVectors.name(type));
        int rowBytes = (int) type.bytesFor(COLS);
        for (int r = 0; r < ROWS; r++) {
            byte[] actual = Quantizer.quantize(type, src, r * COLS, COLS);
            byte[] want = expected.asSlice((long) r * rowBytes, rowBytes).toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(want, actual, type + " row " + r);
        }
    }

    @Test
    void quantizeRowIntoSegmentWritesAtOffset() {
        MemorySegment seg = MemorySegment.ofArray(new byte[5 + 34 * 16]);
        Quantizer.quantizeRowQ8_0(src, COLS, COLS, seg, 5);
        assertArrayEquals(Quantizer.quantize(GgmlType.Q8_0, src, COLS, COLS), seg.asSlice(5).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void roundHalfAwayFromZeroIsCRoundf() {
        assertEquals(3f, Quantizer.roundHalfAwayFromZero(2.5f));
        assertEquals(-3f, Quantizer.roundHalfAwayFromZero(-2.5f));
        assertEquals(0f, Quantizer.roundHalfAwayFromZero(0.49999997f));
        assertEquals(-1f, Quantizer.roundHalfAwayFromZero(-0.5f));
        assertEquals(127f, Quantizer.roundHalfAwayFromZero(127f));
    }

    @Test
    void bf16RoundsToNearestEvenAndKeepsNaNQuiet() {
        assertEquals((short) 0x3f80, Quantizer.floatToBf16(1.0f));
        // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties to even (1.0).
        assertEquals((short) 0x3f80, Quantizer.floatToBf16(Float.intBitsToFloat(0x3f808000)));
        assertEquals((short) 0x3f82, Quantizer.floatToBf16(Float.intBitsToFloat(0x3f818000)));
        assertTrue(Float.isNaN(Quantizer.bf16ToFloat(Quantizer.floatToBf16(Float.NaN))));
        assertEquals(-2.5f, Quantizer.bf16ToFloat(Quantizer.floatToBf16(-2.5f)));
    }
}
