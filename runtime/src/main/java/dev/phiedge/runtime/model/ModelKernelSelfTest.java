package dev.phiedge.runtime.model;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.matmul.MatMul;
import dev.phiedge.runtime.matmul.OuterProductKernels;
import dev.phiedge.runtime.tensor.CompiledMethods;
import dev.phiedge.runtime.tensor.KernelSpecies;
import dev.phiedge.runtime.tensor.Q8Activations;
import dev.phiedge.runtime.tensor.Quantizer;
import dev.phiedge.runtime.tensor.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The forward pass's own vector kernels, each against a ground truth computed here in double precision: the
 * part of {@code phi3 selftest} after the tensor types. Batched products ({@link MatMul} with batches that
 * take the two-row kernel and the outer-product kernels, on float and on quantized-activation weights, two
 * threads), the attention kernels over the F16 key/value cache ({@link VectorMath#dotHalfRows},
 * {@link VectorMath#addWeightedHalfRows}) and the activations ({@link VectorMath#swiglu},
 * {@link VectorMath#expShifted}). Like the tensor checks, they run cold, then repeatedly for the time budget
 * so that C2's code is what is compared.
 */
public final class ModelKernelSelfTest {
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ModelKernelSelfTest() {}

    /** The kernel groups, in the order they are reported. */
    public static final List<String> GROUPS = List.of("batched products", "attention (F16 cache)", "activations (SwiGLU, softmax)");

    /**
     * @param failures per kernel, the first mismatch in words (empty: all matched)
     * @param passes   how many times every check ran
     * @param c2       whether the group's kernels had C2 code of their own when the repeated checks ended, and when
     */
    public record Result(String group, Map<String, String> failures, List<String> checked, int passes, String c2, long nanos) {
        public boolean ok() {
            return failures.isEmpty();
        }
    }

    /** Checks one of {@link #GROUPS} cold, then until C2 has compiled its kernels (at most {@code maxSeconds}), then 3 times more. */
    public static Result run(String group, long seed, double maxSeconds) {
        long start = System.nanoTime();
        Group g = switch (group) {
            case "batched products" -> new Batches(new Random(seed));
            case "attention (F16 cache)" -> new Attention(new Random(seed + 1));
            case "activations (SwiGLU, softmax)" -> new Activations(new Random(seed + 2));
            default -> throw new IllegalArgumentException("no kernel group " + group);
        };
        int passes = 0;
        CompiledMethods.Wait wait = new CompiledMethods.Wait(g.methods(), maxSeconds);
        String c2;
        try {
            do {
                g.pass();
                passes++;
            } while (g.failures.isEmpty() && !wait.poll());
            c2 = wait.describe();
            for (int i = 0; i < 3 && g.failures.isEmpty(); i++, passes++) g.pass();
        } finally {
            g.close();
        }
        return new Result(group, g.failures, g.checked(), passes, c2, System.nanoTime() - start);
    }

    private abstract static class Group implements AutoCloseable {
        final Map<String, String> failures = new LinkedHashMap<>();

        abstract List<String> checked();

        /** The kernels ("package.Class.method") whose C2 code the checks wait for. */
        abstract List<String> methods();

        abstract void pass();

        void fail(String kernel, String what) {
            failures.putIfAbsent(kernel, what);
        }

        static boolean close(double expected, float actual, double tolerance) {
            return Math.abs(expected - actual) <= tolerance && !Float.isNaN(actual);
        }

        @Override
        public void close() {}
    }

    /** MatMul on batches below and above one vector of positions, rows not a multiple of the kernels' blocks. */
    private static final class Batches extends Group {
        record Case(WeightTensor w, float[][] deq, String name) {}

        final MatMul matMul = new MatMul(2);
        final Case[] cases;
        final int[] batches;
        final Random rnd;

        Batches(Random rnd) {
            this.rnd = rnd;
            int l = KernelSpecies.L;
            batches = new int[] {2, 3, 5, l, l + 1, OuterProductKernels.MAX_VECTORS * l + 2};
            int rows = 2 * OuterProductKernels.ROWS + 3;
            cases = new Case[] {tensor(GgmlType.F32, rows, 100), tensor(GgmlType.Q4_0, rows, 256), tensor(GgmlType.Q4_K, rows, 256)};
        }

        private Case tensor(GgmlType type, int rows, int cols) {
            byte[] bytes = new byte[Math.toIntExact(type.bytesFor(cols) * rows)];
            float[] src = new float[cols];
            if (type == GgmlType.Q4_K) {
                rnd.nextBytes(bytes);
                MemorySegment seg = MemorySegment.ofArray(bytes);
                for (long b = 0; b < bytes.length / type.blockBytes(); b++) {
                    for (int so : new int[] {0, 2}) seg.set(HALF, b * type.blockBytes() + so, Float.floatToFloat16((rnd.nextFloat() - 0.2f) * 0.01f));
                }
            } else {
                long rowBytes = type.bytesFor(cols);
                for (int r = 0; r < rows; r++) {
                    for (int k = 0; k < cols; k++) src[k] = (float) rnd.nextGaussian() * 0.05f;
                    System.arraycopy(Quantizer.quantize(type, src, 0, cols), 0, bytes, (int) (r * rowBytes), (int) rowBytes);
                }
            }
            WeightTensor w = WeightTensor.of(type, MemorySegment.ofArray(bytes), rows, cols);
            float[][] deq = new float[rows][cols];
            for (int r = 0; r < rows; r++) w.dequantizeRow(r, deq[r], 0); // bit for bit the scalar's: the tensor checks
            return new Case(w, deq, type + " " + rows + " x " + cols);
        }

        @Override
        List<String> checked() {
            return List.of("batched product (float weights)", "batched product (quantized activations)");
        }

        @Override
        List<String> methods() {
            String p = MatMul.class.getPackageName() + ".";
            return List.of(p + "BatchDotKernels.dot2x4", p + "OuterProductKernels.rows8x1", p + "OuterProductKernels.rows8x2",
                    p + "OuterProductKernels.rows8x3");
        }

        @Override
        void pass() {
            for (Case c : cases) {
                int cols = c.w.cols(), rows = c.w.rows();
                String kernel = c.w.prefersQuantizedActivations() ? "batched product (quantized activations)" : "batched product (float weights)";
                for (int batch : batches) {
                    int inStride = cols + 1, outStride = rows + 2;
                    float[] in = new float[batch * inStride];
                    for (int i = 0; i < in.length; i++) in[i] = (float) rnd.nextGaussian();
                    float[] out = new float[batch * outStride];
                    matMul.apply(c.w, in, inStride, out, outStride, batch);
                    Q8Activations q = new Q8Activations();
                    float[] x = new float[cols];
                    for (int b = 0; b < batch; b++) {
                        // the positions as the product sees them: quantized and back where decoding would quantize them
                        if (c.w.prefersQuantizedActivations()) {
                            q.quantize(c.w.activationFormat(), in, b * inStride, cols).dequantize(x, 0);
                        } else {
                            System.arraycopy(in, b * inStride, x, 0, cols);
                        }
                        for (int r = 0; r < rows; r++) {
                            double sum = 0, scale = 0;
                            for (int k = 0; k < cols; k++) {
                                double p = (double) c.deq[r][k] * x[k];
                                sum += p;
                                scale += Math.abs(p);
                            }
                            float got = out[b * outStride + r];
                            if (!close(sum, got, 1e-5 * scale + 1e-30)) {
                                fail(kernel, String.format(Locale.ROOT, "%s, batch %d, position %d, row %d: %s, exact %s", c.name, batch, b, r, got, sum));
                            }
                        }
                    }
                }
            }
        }

        @Override
        public void close() {
            matMul.close();
        }
    }

    /** Scores of a query against cached keys and the weighted sum of cached values, rows of F16 a padded stride apart. */
    private static final class Attention extends Group {
        final Arena arena = Arena.ofConfined();
        final Random rnd;

        Attention(Random rnd) {
            this.rnd = rnd;
        }

        @Override
        List<String> checked() {
            return List.of("attention scores (dotHalfRows)", "attention values (addWeightedHalfRows)");
        }

        @Override
        List<String> methods() {
            return List.of(VectorMath.class.getName() + ".dotHalfRows", VectorMath.class.getName() + ".addWeightedHalfRows");
        }

        @Override
        void pass() {
            for (int n : new int[] {64, 96, 100}) { // head sizes; 100 leaves a tail after the vectors
                int count = 37;
                long rowBytes = 2L * n + 16;
                MemorySegment m = arena.allocate(rowBytes * count + 8, 8);
                float[][] rows = new float[count][n];
                for (int r = 0; r < count; r++) {
                    for (int k = 0; k < n; k++) {
                        short h = Float.floatToFloat16((float) rnd.nextGaussian());
                        m.set(HALF, 8 + r * rowBytes + 2L * k, h);
                        rows[r][k] = Float.float16ToFloat(h);
                    }
                }
                float[] x = new float[n + 3];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                float[] scores = new float[count + 1];
                VectorMath.dotHalfRows(m, 8, rowBytes, count, n, x, 3, scores, 1);
                for (int r = 0; r < count; r++) {
                    double sum = 0, scale = 0;
                    for (int k = 0; k < n; k++) {
                        sum += (double) rows[r][k] * x[3 + k];
                        scale += Math.abs((double) rows[r][k] * x[3 + k]);
                    }
                    if (!close(sum, scores[1 + r], 1e-5 * scale + 1e-30)) {
                        fail("attention scores (dotHalfRows)", String.format(Locale.ROOT, "head size %d, key %d: %s, exact %s", n, r, scores[1 + r], sum));
                    }
                }
                float[] p = new float[count + 2];
                for (int i = 0; i < p.length; i++) p[i] = rnd.nextFloat();
                float[] out = new float[n + 1];
                for (int i = 0; i < out.length; i++) out[i] = (float) rnd.nextGaussian();
                float[] before = out.clone();
                VectorMath.addWeightedHalfRows(m, 8, rowBytes, count, n, p, 2, out, 1);
                for (int k = 0; k < n; k++) {
                    double sum = before[1 + k], scale = Math.abs(before[1 + k]);
                    for (int r = 0; r < count; r++) {
                        sum += (double) p[2 + r] * rows[r][k];
                        scale += Math.abs((double) p[2 + r] * rows[r][k]);
                    }
                    if (!close(sum, out[1 + k], 1e-5 * scale + 1e-30)) {
                        fail("attention values (addWeightedHalfRows)", String.format(Locale.ROOT, "head size %d, element %d: %s, exact %s", n, k, out[1 + k], sum));
                    }
                }
                if (out[0] != before[0]) fail("attention values (addWeightedHalfRows)", "wrote before its output range");
            }
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    /** SwiGLU and the softmax's exponentials: the JDK's vector exp, within a few ulps of Math.exp. */
    private static final class Activations extends Group {
        final Random rnd;

        Activations(Random rnd) {
            this.rnd = rnd;
        }

        @Override
        List<String> checked() {
            return List.of("SwiGLU (swiglu)", "softmax numerators (expShifted)");
        }

        @Override
        List<String> methods() {
            return List.of(VectorMath.class.getName() + ".swiglu", VectorMath.class.getName() + ".expShifted");
        }

        @Override
        void pass() {
            int n = 203; // vectors and a tail
            float[] gate = new float[n + 1], up = new float[n + 2], out = new float[n + 3];
            for (int i = 0; i < gate.length; i++) gate[i] = (rnd.nextFloat() - 0.5f) * 16f;
            for (int i = 0; i < up.length; i++) up[i] = (float) rnd.nextGaussian();
            VectorMath.swiglu(gate, 1, up, 2, out, 3, n);
            for (int i = 0; i < n; i++) {
                double g = gate[1 + i];
                double expected = g / (1 + Math.exp(-g)) * up[2 + i];
                if (!close(expected, out[3 + i], 1e-5 * Math.abs(expected) + 1e-6)) {
                    fail("SwiGLU (swiglu)", String.format(Locale.ROOT, "gate %s, up %s: %s, exact %s", gate[1 + i], up[2 + i], out[3 + i], expected));
                }
            }
            float[] x = new float[n + 4];
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian() * 4f;
                if (i >= 2 && i < 2 + n) max = Math.max(max, x[i]);
            }
            float[] in = x.clone();
            float sum = VectorMath.expShifted(x, 2, 2 + n, max);
            double exactSum = 0;
            for (int i = 2; i < 2 + n; i++) {
                double e = Math.exp(in[i] - max); // the float difference, as the kernel takes it
                exactSum += e;
                if (!close(e, x[i], 1e-5 * e + 1e-7)) {
                    fail("softmax numerators (expShifted)", String.format(Locale.ROOT, "exp(%s - %s): %s, exact %s", in[i], max, x[i], e));
                }
            }
            if (!close(exactSum, sum, 1e-5 * exactSum)) fail("softmax numerators (expShifted)", "sum " + sum + ", exact " + exactSum);
            if (x[0] != in[0] || x[1] != in[1] || x[2 + n] != in[2 + n]) fail("softmax numerators (expShifted)", "wrote outside its range");
        }
    }
}
