package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The integer kernels on byte quants (Q8_0 and Q4_0, 16 lanes): the same integer sums in the same
 * order as the kernels on short quants, so the same floats bit for bit, and within float rounding of
 * ggml's generic vec_dot (the scalar kernel). Odd block counts check the last, unpaired block. Where
 * the width has no such kernel, asking for it is refused.
 */
class ByteActivationKernelTest {

    @ParameterizedTest
    @CsvSource({"Q8_0, 8192", "Q8_0, 3072", "Q8_0, 96", "Q8_0, 32", "Q4_0, 8192", "Q4_0, 3072", "Q4_0, 96", "Q4_0, 32"})
    void theByteKernelGivesTheShortKernelsResultBitForBit(GgmlType type, int cols) {
        int rows = 16;
        Random rnd = new Random(cols);
        var data = Arena.ofAuto().allocate(type.bytesFor(cols) * rows, 64).copyFrom(FloatKernelsMatchScalarTest.randomWeights(type, rows, cols, rnd));
        AbstractWeightTensor w = (AbstractWeightTensor) WeightTensor.of(type, data, rows, cols);
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        Q8Activations q = new Q8Activations().quantize(w.activationFormat(), x, 0, cols);
        float[] out = new float[rows];
        if (!w.hasByteActivationKernel()) {
            assertEquals(16 == KernelSpecies.L && KernelSpecies.ENABLED, w.hasByteActivationKernel());
            assertThrows(UnsupportedOperationException.class, () -> w.matVecBytes(q, out, 0, 0, rows));
            return;
        }
        for (int i = 0; i < cols; i++) assertEquals(q.quant(i), q.quantBytes()[i], "byte quant " + i); // the checked short quants
        float[] shorts = new float[rows];
        w.matVec(q, shorts, 0, 0, rows);
        w.matVecBytes(q, out, 0, 0, rows);
        assertArrayEquals(shorts, out, type + " x " + cols);
        for (int r = 0; r < rows; r++) {
            double truth = w.dotScalar(r, q);
            assertEquals(truth, out[r], 1e-4 * Math.max(1, Math.abs(truth)), "row " + r);
        }
        // the byte copy follows a new quantization
        for (int i = 0; i < cols; i++) x[i] = -x[i];
        q.quantize(w.activationFormat(), x, 0, cols);
        w.matVecBytes(q, out, 0, 0, rows);
        for (int r = 0; r < rows; r++) assertEquals(-shorts[r], out[r], 1e-4 * Math.max(1, Math.abs(shorts[r])), "negated, row " + r);
    }
}
