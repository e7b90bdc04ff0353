package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Decoding allocates nothing (issue "Runtime speed"): once C2 has compiled a kernel, a matrix-vector
 * product the way decoding runs it allocates no bytes, with either kernel a kernel plan can choose
 * (integer, on quantized activations, or float). A kernel past C2's inlining node limit leaves a call to a small helper un-inlined and boxes
 * the vectors it passes (Q5_K ran at 2 GB/s that way, allocating 41 KB a row): this catches it, on
 * the test run's vector width: 16 lanes here, 4 in the vector-128 run (as on NEON); run with
 * {@code -Djvm.modules="... -XX:MaxVectorSize=32"} to check 8 (AVX2). The 16-lane run has a JVM of its
 * own (execution decode-allocation in runtime/pom.xml): after the other tests' small shapes, C2 now and
 * then compiled a kernel into one that boxes (why is not known yet); decoding runs of phi3 bench have
 * not shown it, and bench warns if they do.
 */
class DecodeKernelAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    static Stream<Arguments> typesRowLengthsAndKernels() {
        // 8192 columns (ffn_down) and 3072 (the rest of Phi-3-mini), with each kernel a kernel plan can
        // choose: integer (quantized activations) and float for the quantized types, float for F16/F32
        return Stream.of("Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "F16", "F32").map(GgmlType::valueOf)
                .flatMap(t -> Stream.of(8192, 3072).flatMap(cols -> (t == GgmlType.F16 || t == GgmlType.F32 ? Stream.of("float")
                        : Stream.of("integer", "float", "integer-bytes")).map(kernel -> Arguments.of(t, cols, kernel))));
    }

    @ParameterizedTest(name = "{0} x {1}, {2} kernel")
    @MethodSource("typesRowLengthsAndKernels")
    void aCompiledDecodeProductAllocatesNothing(GgmlType type, int cols, String kernel) {
        boolean quantized = !kernel.equals("float");
        boolean bytes = kernel.equals("integer-bytes");
        assumeTrue(KernelSpecies.ENABLED, "scalar kernels only");
        int rows = 8;
        Random rnd = new Random(3);
        // off-heap, as a mapped file is (the Vector API compiles heap-array segments differently)
        MemorySegment data = Arena.ofAuto().allocate(type.bytesFor(cols) * rows, 64).copyFrom(FloatKernelsMatchScalarTest.randomWeights(type, rows, cols, rnd));
        WeightTensor w = WeightTensor.of(type, data, rows, cols);
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        float[] out = new float[rows];
        Q8Activations xq = new Q8Activations();
        assumeTrue(quantized || !w.floatDecodeKernelBoxes(), "the float kernel of " + type + " boxes on " + KernelSpecies.L
                + " lanes, so no kernel plan chooses it (WeightTensor.floatDecodeKernelBoxes)");
        assumeTrue(!bytes || w.hasByteActivationKernel(), type + " has no byte-activation kernel on " + KernelSpecies.L + " lanes");

        // Until C2 compiles the kernel (interpreter, C1) vectors are objects; then a product must
        // allocate nothing, and stay that way. 20 s bounds the wait; C2 takes well under one.
        long deadline = System.nanoTime() + 20_000_000_000L;
        long allocated = -1;
        int zeroRuns = 0;
        while (zeroRuns < 200 && System.nanoTime() < deadline) {
            long before = THREADS.getCurrentThreadAllocatedBytes();
            if (bytes) w.matVecBytes(xq.quantize(w.activationFormat(), x, 0, cols), out, 0, 0, rows);
            else if (quantized) w.matVec(xq.quantize(w.activationFormat(), x, 0, cols), out, 0, 0, rows);
            else w.matVec(x, 0, out, 0, 0, rows);
            allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
            zeroRuns = allocated == 0 ? zeroRuns + 1 : 0;
        }
        assertEquals(0, allocated, type + " x " + cols + " columns (" + kernel + " kernel, " + KernelSpecies.L
                + " float lanes) still allocates after 20 s of products");
    }
}
