package dev.phiedge.runtime.matmul;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.tensor.Quantizer;
import dev.phiedge.runtime.tensor.WeightTensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Batched products: with quantized activations every position gets its decoded value up to float
 * rounding; the float
 * batch kernels give a position the same bits whatever group or batch it falls in; all values equal a
 * float64 product of the dequantized weights (up to activation quantization), for any thread count, odd
 * rows and batch sizes, on both batch kernels (dot products below {@link MatMul#OUTER_PRODUCT_FROM}
 * positions, outer products from there).
 */
class MatMulTest {

    private static WeightTensor tensor(GgmlType type, int rows, int cols, Random rnd) {
        float[] src = new float[cols];
        long rowBytes = type.bytesFor(cols);
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.toIntExact(rowBytes * rows)]);
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols; k++) src[k] = (float) rnd.nextGaussian() * 0.05f;
            MemorySegment.copy(MemorySegment.ofArray(Quantizer.quantize(type, src, 0, cols)), 0, seg, r * rowBytes, rowBytes);
        }
        return WeightTensor.of(type, seg, rows, cols);
    }

    private static double scaleOf(WeightTensor w, int r, float[] x) {
        float[] deq = new float[w.cols()];
        w.dequantizeRow(r, deq, 0);
        double scale = 0;
        for (int k = 0; k < deq.length; k++) scale += Math.abs((double) deq[k] * x[k]);
        return scale;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void batchedPositionsEqualSinglePositionsBitForBit(int threads) {
        Random rnd = new Random(3);
        // 256 columns: float activations for Q4_0/Q8_0; 8192: quantized (QUANTIZED_FROM_COLS)
        int[][] shapes = {{37, 256}, {9, 8192}};
        try (MatMul mm = new MatMul(threads)) {
            for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0}) {
                for (int[] shape : shapes) {
                    int rows = shape[0], cols = shape[1];
                    WeightTensor w = tensor(type, rows, cols, rnd);
                    for (int batch : new int[] {2, 4, 7, 16, 21, 50}) { // dot kernel below 16 positions, outer products from 16
                        int inStride = cols + 3, outStride = rows + 2;
                        float[] in = new float[batch * inStride];
                        for (int i = 0; i < in.length; i++) in[i] = (float) rnd.nextGaussian();
                        float[] out = new float[batch * outStride];
                        mm.apply(w, in, inStride, out, outStride, batch);
                        float[] deq = new float[cols];
                        for (int b = 0; b < batch; b++) {
                            float[] one = new float[rows];
                            float[] x = java.util.Arrays.copyOfRange(in, b * inStride, b * inStride + cols);
                            mm.apply(w, x, cols, one, rows, 1);
                            for (int r = 0; r < rows; r++) {
                                String where = type + " " + rows + "x" + cols + " batch " + batch + " position " + b + " row " + r;
                                if (w.prefersQuantizedActivations()) { // the same quantized activations alone and in a batch
                                    assertEquals(one[r], out[b * outStride + r], 1e-5 * scaleOf(w, r, x), where);
                                }
                                w.dequantizeRow(r, deq, 0);
                                double exact = 0, scale = 0;
                                for (int k = 0; k < cols; k++) {
                                    exact += (double) deq[k] * x[k];
                                    scale += Math.abs((double) deq[k] * x[k]);
                                }
                                double tol = (w.prefersQuantizedActivations() ? 0.02 : 1e-5) * scale;
                                assertEquals(exact, out[b * outStride + r], tol, where + " (batch)");
                                assertEquals(exact, one[r], tol, where + " (single)");
                            }
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void dotBatchKernelGivesEveryPositionTheSameBitsWhateverItsGroup(int threads) {
        Random rnd = new Random(9);
        // Batches of 3, 4 and 7 take the dot kernel where a vector holds more than 7 floats (AVX2, AVX-512).
        assumeTrue(MatMul.OUTER_PRODUCT_FROM > 7, "with 4-float vectors these batches take the outer-product kernel");
        int rows = 5, cols = 100; // odd rows (a lone row) and a column tail
        WeightTensor w = tensor(GgmlType.F32, rows, cols, rnd);
        float[] in = new float[7 * cols];
        for (int i = 0; i < in.length; i++) in[i] = (float) rnd.nextGaussian();
        try (MatMul mm = new MatMul(threads)) {
            float[] seven = new float[7 * rows];
            mm.apply(w, in, cols, seven, rows, 7); // positions 0-3 in a group of four, 4-6 one by one
            float[] three = new float[3 * rows];
            mm.apply(w, java.util.Arrays.copyOfRange(in, 4 * cols, 7 * cols), cols, three, rows, 3);
            float[] four = new float[4 * rows];
            mm.apply(w, java.util.Arrays.copyOfRange(in, 3 * cols, 7 * cols), cols, four, rows, 4);
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < 3; b++) assertEquals(seven[(4 + b) * rows + r], three[b * rows + r], 0f, "position " + (4 + b) + " row " + r);
                for (int b = 0; b < 4; b++) assertEquals(seven[(3 + b) * rows + r], four[b * rows + r], 0f, "position " + (3 + b) + " row " + r);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void outerProductKernelComputesEachPositionAsOneFmaChainWhateverItsBatch(int threads) {
        Random rnd = new Random(11);
        int rows = 19, cols = 100; // two blocks of eight rows and a block of three
        int lanes = MatMul.OUTER_PRODUCT_FROM;
        WeightTensor w = tensor(GgmlType.F32, rows, cols, rnd);
        int total = 4 * lanes + 3; // three vectors and a second, mostly padded group
        float[] in = new float[total * cols];
        for (int i = 0; i < in.length; i++) in[i] = (float) rnd.nextGaussian();
        float[] deq = new float[cols];
        try (MatMul mm = new MatMul(threads)) {
            float[] all = new float[total * rows];
            mm.apply(w, in, cols, all, rows, total);
            int[][] subBatches = {{lanes + 5, lanes}, {2, lanes + 1}, {0, 2 * lanes}};
            for (int[] sub : subBatches) {
                int first = sub[0], count = sub[1];
                float[] part = new float[count * rows];
                mm.apply(w, java.util.Arrays.copyOfRange(in, first * cols, (first + count) * cols), cols, part, rows, count);
                for (int b = 0; b < count; b++) {
                    for (int r = 0; r < rows; r++) {
                        assertEquals(all[(first + b) * rows + r], part[b * rows + r], 0f,
                                "position " + (first + b) + " row " + r + " in a batch of " + count);
                    }
                }
            }
            // The kernel's definition, computed independently: acc = fma(x[k], w[k], acc) for k in order.
            for (int r = 0; r < rows; r++) {
                w.dequantizeRow(r, deq, 0);
                for (int b = 0; b < total; b++) {
                    float acc = 0f;
                    for (int k = 0; k < cols; k++) acc = Math.fma(in[b * cols + k], deq[k], acc);
                    assertEquals(acc, all[b * rows + r], 0f, "position " + b + " row " + r);
                }
            }
        }
    }
}
