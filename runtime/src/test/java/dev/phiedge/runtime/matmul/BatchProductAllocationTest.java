package dev.phiedge.runtime.matmul;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.tensor.FloatKernelsMatchScalarTest;
import dev.phiedge.runtime.tensor.WeightTensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Prompt processing allocates nothing once compiled: a batched product through the outer-product
 * kernels ({@link OuterProductKernels}), dequantization and activation quantization included, allocates
 * no bytes. The kernels keep 24 vectors live in one method; if C2 ever left one of their Vector API
 * calls un-intrinsified, every vector would become a heap object (the dot kernel it replaced boxed its
 * lane sums: 85 MB of garbage a token). Runs in the decode-allocation JVM (runtime/pom.xml), on one
 * thread so that the calling thread's allocation counter sees everything.
 */
class BatchProductAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @ParameterizedTest
    @ValueSource(strings = {"F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void aCompiledBatchedProductAllocatesNothing(String typeName) {
        GgmlType type = GgmlType.valueOf(typeName);
        int rows = 20, cols = 3072, batch = 2 * MatMul.OUTER_PRODUCT_FROM + 3; // a short last row block and a padded vector
        Random rnd = new Random(5);
        // off-heap, as a mapped file is (the Vector API compiles heap-array segments differently)
        MemorySegment data = Arena.ofAuto().allocate(type.bytesFor(cols) * rows, 64).copyFrom(FloatKernelsMatchScalarTest.randomWeights(type, rows, cols, rnd));
        WeightTensor w = WeightTensor.of(type, data, rows, cols);
        float[] in = new float[batch * cols];
        for (int i = 0; i < in.length; i++) in[i] = (float) rnd.nextGaussian();
        float[] out = new float[batch * rows];
        try (MatMul mm = new MatMul(1)) {
            // Until C2 compiles the kernels, vectors are objects; then a product must allocate nothing.
            long deadline = System.nanoTime() + 30_000_000_000L;
            long allocated = -1;
            int zeroRuns = 0;
            while (zeroRuns < 50 && System.nanoTime() < deadline) {
                long before = THREADS.getCurrentThreadAllocatedBytes();
                mm.apply(w, in, cols, out, rows, batch);
                allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
                zeroRuns = allocated == 0 ? zeroRuns + 1 : 0;
            }
            assertEquals(0, allocated, type + ": a batch of " + batch + " still allocates after 30 s of products");
        }
    }
}
