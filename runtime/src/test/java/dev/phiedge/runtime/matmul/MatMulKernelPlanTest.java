package dev.phiedge.runtime.matmul;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.matmul.KernelPlan.Choice;
import dev.phiedge.runtime.matmul.KernelPlan.Group;
import dev.phiedge.runtime.matmul.KernelPlan.Kernel;
import dev.phiedge.runtime.matmul.KernelPlan.Source;
import dev.phiedge.runtime.tensor.FloatKernelsMatchScalarTest;
import dev.phiedge.runtime.tensor.Q8Activations;
import dev.phiedge.runtime.tensor.WeightTensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A decode product runs the kernel the plan names for its group: with a plan saying float, MatMul's
 * result is the float kernel's, bit for bit; saying integer, the integer kernel's on activations
 * quantized as decoding quantizes them. (Both kernels are checked against the scalar ground truth in
 * the tensor tests.) The integer kernel on byte quants, where the type has it, gives the integer kernel's
 * result bit for bit.
 */
class MatMulKernelPlanTest {

    @ParameterizedTest
    @CsvSource({"Q4_0, 256", "Q8_0, 512", "Q4_K, 512", "Q6_K, 256"})
    void aDecodeProductRunsThePlansKernel(GgmlType type, int cols) {
        int rows = 24;
        Random rnd = new Random(9);
        var data = Arena.ofAuto().allocate(type.bytesFor(cols) * rows, 64).copyFrom(FloatKernelsMatchScalarTest.randomWeights(type, rows, cols, rnd));
        WeightTensor w = WeightTensor.of(type, data, rows, cols);
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();

        float[] floatKernel = new float[rows];
        w.matVec(x, 0, floatKernel, 0);
        float[] integerKernel = new float[rows];
        w.matVec(new Q8Activations().quantize(w.activationFormat(), x, 0, cols), integerKernel, 0, 0, rows);
        assertFalse(java.util.Arrays.equals(floatKernel, integerKernel), "the two kernels must differ for this test to tell them apart");

        try (ThreadedMatVec team = new ThreadedMatVec(2)) {
            for (Kernel k : Kernel.values()) {
                if (k == Kernel.INTEGER_BYTES && !w.hasByteActivationKernel()) continue;
                KernelPlan plan = KernelPlan.of(List.of(new Choice(new Group(type, cols), k, Source.MEASURED, Kernel.INTEGER, 1, 1, 1, "test")));
                MatMul matMul = new MatMul(team, plan);
                float[] out = new float[rows];
                matMul.apply(w, x, cols, out, rows, 1);
                // the byte-activation kernel computes the integer kernel's sums in its order: the same bits
                assertArrayEquals(k == Kernel.FLOAT ? floatKernel : integerKernel, out, type + " x " + cols + " planned " + k);
            }
        }
    }
}
