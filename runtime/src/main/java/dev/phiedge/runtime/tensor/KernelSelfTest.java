package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The tensor kernels this JVM runs, each checked against its scalar ground truth on small random rows, with
 * a short speed measurement: the tensor part of {@code phi3 selftest}. For one type: the fast float-activation
 * dot ({@link WeightTensor#dot}, the Vector API kernel at this JVM's vector width) and {@code matVec} against
 * {@link AbstractWeightTensor#dotScalar}, within float summation error (1e-5 of the sum of |w x|, as the
 * runtime's tests); the fast dequantization bit for bit against the scalar one; and where the type has an
 * integer kernel, the activation quantization ({@link Q8Activations}) against ggml's rules computed here in
 * scalar code, and the integer dot and {@code matVec} against the scalar integer dot.
 *
 * <p>The checks run once cold (interpreter, C1), then over and over for part of the time budget, so that the
 * compared results come from the code C2 compiles (the JIT is what differs between CPUs: NEON, AVX2,
 * AVX-512, SVE), then once more after the speed runs. Shapes are small and include block counts that leave
 * tails in the unrolled loops; under emulation (qemu) a pass still takes seconds cold.
 */
public final class KernelSelfTest {
    /** Every type the runtime computes with, in the order the selftest reports them. */
    public static final List<GgmlType> TYPES = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1,
            GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);
    /** The speed run's matrix: small enough for the caches, long rows as in the model. */
    public static final int SPEED_ROWS = 128;
    public static final int SPEED_COLS = 1024;
    private static final int CHECK_ROWS = 5;
    private static final int X_OFFSET = 3;

    private KernelSelfTest() {}

    /** Float lanes of the species the kernels use ({@code FloatVector.SPECIES_PREFERRED}). */
    public static int lanes() {
        return KernelSpecies.L;
    }

    /** Whether the vector kernels run at all (4, 8 or 16 float lanes); otherwise every type uses its scalar kernels. */
    public static boolean vectorKernelsEnabled() {
        return KernelSpecies.ENABLED;
    }

    /** Which code computes {@code type}'s products here: the vector kernels, or only the scalar ones. */
    public static String kernelKind(GgmlType type) {
        Class<?> c = tensorClass(type);
        boolean vectorDot = declares(c, "dotRow", long.class, float[].class, int.class);
        if (!KernelSpecies.ENABLED || !vectorDot) return "scalar";
        return "vector";
    }

    /**
     * The integer kernel {@code type} uses here: its kernel class's {@code dotQ8On128} (128-bit vectors) or
     * {@code dotQ8} (the full width), "scalar", or null where it has none.
     */
    public static String integerKernels(GgmlType type) {
        if (!declares(tensorClass(type), "dotRowQ8", long.class, Q8Activations.class)) return null;
        if (!KernelSpecies.ENABLED) return "scalar";
        boolean on128 = switch (type) {
            case Q8_0, Q4_0 -> KernelSpecies.L <= 8;
            default -> false; // the K-quants: dotQ8 at every width
        };
        return on128 ? "dotQ8On128" : "dotQ8";
    }

    /**
     * The methods that run {@code type}'s fast kernels here ("package.Class.method"): the tensor class's
     * vector dot, integer dot and dequantization where it has them, else its scalar dot.
     */
    public static List<String> kernelMethods(GgmlType type) {
        Class<?> c = tensorClass(type);
        List<String> names = new ArrayList<>();
        if (KernelSpecies.ENABLED && declares(c, "dotRow", long.class, float[].class, int.class)) names.add(c.getName() + ".dotRow");
        if (declares(c, "dotRowQ8", long.class, Q8Activations.class)) names.add(c.getName() + ".dotRowQ8");
        if (declares(c, "dequantizeRowAt", long.class, float[].class, int.class)) names.add(c.getName() + ".dequantizeRowAt");
        if (names.isEmpty()) names.add(c.getName() + ".dotRowScalar");
        return names;
    }

    private static Class<?> tensorClass(GgmlType type) {
        return WeightTensor.of(type, MemorySegment.ofArray(new byte[(int) type.bytesFor(type.blockSize())]), 1, type.blockSize()).getClass();
    }

    private static boolean declares(Class<?> c, String name, Class<?>... parameters) {
        try {
            c.getDeclaredMethod(name, parameters);
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /**
     * One type's outcome.
     *
     * @param failures    per kernel ("float dot", "dequantize", "quantize activations", "integer dot", ...) the
     *                    first mismatch, in words; empty when everything matched
     * @param checked     the kernels compared
     * @param passes      how many times every check ran
     * @param c2          whether the kernels had C2 code of their own when the repeated checks ended, and when
     *                    ({@link CompiledMethods.Wait#describe}; {@link #kernelMethods} are the methods)
     * @param floatGbps   weight bytes per second of the float-activation matVec, 1 thread, best pass (GB/s)
     * @param integerGbps the same for the integer kernel with the activations quantized each time, or NaN
     * @param nanos       the time all of it took
     */
    public record Result(GgmlType type, Map<String, String> failures, List<String> checked, int passes,
                         String c2, double floatGbps, double integerGbps, long nanos) {
        public boolean ok() {
            return failures.isEmpty();
        }
    }

    /** Time of each speed run. */
    private static final long SPEED_NANOS = 250_000_000L;

    /**
     * Checks {@code type}'s kernels cold, then over and over until C2 has compiled them ({@link
     * CompiledMethods.Wait}: at most {@code maxSeconds}), times them, and checks them three times more.
     */
    public static Result run(GgmlType type, long seed, double maxSeconds) {
        long start = System.nanoTime();
        Checks checks = new Checks(type, new Random(seed ^ type.ordinal() * 0x9E3779B97F4A7C15L));
        checks.pass(); // cold: interpreter and C1
        // Warm-up: the checks and the speed runs' products in turn, so that C2 compiles the paths both take;
        // every pass of the checks compares what the JIT made of the kernels so far.
        Speed speed = new Speed(type, new Random(seed + 17));
        boolean integer = speed.w.activationFormat() != Q8Activations.Format.F32;
        CompiledMethods.Wait wait = new CompiledMethods.Wait(kernelMethods(type), maxSeconds);
        while (checks.failures.isEmpty()) {
            checks.pass();
            speed.w.matVec(speed.x, 0, speed.out, 0);
            if (integer) speed.w.matVec(speed.activations.quantize(speed.w.activationFormat(), speed.x, 0, SPEED_COLS), speed.out, 0, 0, SPEED_ROWS);
            if (wait.poll()) break;
        }
        String c2 = wait.describe();
        double floatGbps = speed.floatGbps(SPEED_NANOS);
        double integerGbps = integer ? speed.integerGbps(SPEED_NANOS) : Double.NaN;
        for (int i = 0; i < 3 && checks.failures.isEmpty(); i++) checks.pass(); // what C2 made of the kernels by now
        return new Result(type, checks.failures, checks.kernels(), checks.passes, c2, floatGbps, integerGbps,
                System.nanoTime() - start);
    }

    /**
     * Random weights of {@code type} in native memory (as the mapped model file: the kernels may compile
     * differently for heap segments): the quantizer's output where there is one, else random bytes with sane scales.
     */
    static MemorySegment randomWeights(GgmlType type, int rows, int cols, Random rnd) {
        float[] src = new float[cols];
        long rowBytes = type.bytesFor(cols);
        byte[] bytes = new byte[Math.toIntExact(rowBytes * rows)];
        switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0 -> {
                for (int r = 0; r < rows; r++) {
                    for (int k = 0; k < cols; k++) src[k] = (float) rnd.nextGaussian() * 0.05f;
                    System.arraycopy(Quantizer.quantize(type, src, 0, cols), 0, bytes, (int) (r * rowBytes), (int) rowBytes);
                }
            }
            default -> {
                rnd.nextBytes(bytes);
                MemorySegment seg = MemorySegment.ofArray(bytes);
                int[] scaleOffsets = switch (type) {
                    case Q4_K, Q5_K, Q4_1, Q5_1 -> new int[] {0, 2};
                    case Q6_K -> new int[] {208};
                    case Q5_0 -> new int[] {0};
                    default -> throw new IllegalArgumentException(type.toString());
                };
                for (long b = 0; b < bytes.length / type.blockBytes(); b++) {
                    for (int so : scaleOffsets) {
                        seg.set(AbstractWeightTensor.LE_SHORT, b * type.blockBytes() + so, Float.floatToFloat16((rnd.nextFloat() - 0.2f) * 0.01f));
                    }
                }
            }
        }
        return Arena.ofAuto().allocate(bytes.length, 64).copyFrom(MemorySegment.ofArray(bytes));
    }

    /** Row lengths for the checks: one block, a few (tails of the unrolled loops), and a longer row. */
    private static int[] checkCols(GgmlType type) {
        return switch (type.blockSize()) {
            case 256 -> new int[] {256, 768, 1280};
            case 32 -> new int[] {32, 96, 352};
            default -> new int[] {7, 100, 515};
        };
    }

    /** The checks of one type: shapes, their references (computed once, in scalar code) and the comparisons. */
    private static final class Checks {
        final GgmlType type;
        final boolean integer;
        final List<Shape> shapes = new ArrayList<>();
        final Map<String, String> failures = new LinkedHashMap<>();
        int passes;
        long comparisons;

        Checks(GgmlType type, Random rnd) {
            this.type = type;
            for (int cols : checkCols(type)) shapes.add(new Shape(type, cols, rnd));
            integer = shapes.getFirst().w.activationFormat() != Q8Activations.Format.F32;
        }

        List<String> kernels() {
            List<String> names = new ArrayList<>(List.of("float dot", "float matVec", "dequantize"));
            if (integer) names.addAll(List.of("quantize activations", "integer dot", "integer matVec"));
            if (shapes.getFirst().w.hasByteActivationKernel()) names.add("integer matVec on byte quants");
            return names;
        }

        void fail(String kernel, String what) {
            failures.putIfAbsent(kernel, what);
        }

        void pass() {
            for (Shape s : shapes) s.check(this);
            passes++;
        }
    }

    private static final class Shape {
        final AbstractWeightTensor w;
        final int cols;
        final float[] x;
        final float[] dotRef = new float[CHECK_ROWS];
        final double[] scale = new double[CHECK_ROWS];
        final float[][] deqRef = new float[CHECK_ROWS][];
        final float[] out = new float[CHECK_ROWS + 1];
        final float[] deq;
        // integer kernel: the activations as ggml quantizes them (computed here) and the scalar integer dots
        final Q8Activations.Format format;
        final Q8Activations activations = new Q8Activations();
        short[] qRef;
        float[] dRef;
        int[] bsumsRef;
        float[] intRef;

        Shape(GgmlType type, int cols, Random rnd) {
            this.cols = cols;
            w = (AbstractWeightTensor) WeightTensor.of(type, randomWeights(type, CHECK_ROWS, cols, rnd), CHECK_ROWS, cols);
            x = new float[cols + X_OFFSET];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            deq = new float[cols + 2];
            for (int r = 0; r < CHECK_ROWS; r++) {
                deqRef[r] = new float[cols];
                w.dequantizeRowScalar(r, deqRef[r], 0);
                dotRef[r] = w.dotScalar(r, x, X_OFFSET);
                double s = 0;
                for (int k = 0; k < cols; k++) s += Math.abs((double) deqRef[r][k] * x[X_OFFSET + k]);
                scale[r] = s;
            }
            format = w.activationFormat();
            if (format != Q8Activations.Format.F32) {
                referenceQuantization();
                activations.quantize(format, x, X_OFFSET, cols);
                intRef = new float[CHECK_ROWS];
                if (sameQuants(activations) == null) {
                    for (int r = 0; r < CHECK_ROWS; r++) intRef[r] = w.dotScalar(r, activations);
                }
            }
        }

        /** ggml's quantize_row_q8_0 (AVX rounding: half to even) or quantize_row_q8_K_ref, in plain scalar code. */
        private void referenceQuantization() {
            int bs = format == Q8Activations.Format.Q8_0 ? 32 : 256;
            int blocks = cols / bs;
            qRef = new short[cols];
            dRef = new float[blocks];
            bsumsRef = new int[cols / 16];
            for (int b = 0; b < blocks; b++) {
                int o = X_OFFSET + b * bs;
                if (format == Q8Activations.Format.Q8_0) {
                    float amax = 0f;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j]));
                    float id = amax != 0f ? 127f / amax : 0f;
                    for (int j = 0; j < 32; j++) qRef[b * 32 + j] = (short) Math.min(127, (int) Math.rint(x[o + j] * id));
                    dRef[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                } else {
                    float amax = 0f, max = 0f;
                    for (int j = 0; j < 256; j++) {
                        if (Math.abs(x[o + j]) > amax) {
                            amax = Math.abs(x[o + j]);
                            max = x[o + j];
                        }
                    }
                    float iscale = amax != 0f ? -127f / max : 0f;
                    for (int j = 0; j < 256; j++) qRef[b * 256 + j] = (short) Math.min(127, (int) Math.rint(x[o + j] * iscale));
                    dRef[b] = amax != 0f ? 1f / iscale : 0f;
                    for (int g = 0; g < 16; g++) {
                        int sum = 0;
                        for (int j = 0; j < 16; j++) sum += qRef[b * 256 + 16 * g + j];
                        bsumsRef[b * 16 + g] = sum;
                    }
                }
            }
        }

        /** Null when {@code a} holds the reference quants, scales (and Q8_K sums); else the first difference. */
        private String sameQuants(Q8Activations a) {
            for (int i = 0; i < cols; i++) {
                if (a.q[i] != qRef[i]) return "quant " + i + " is " + a.q[i] + ", ggml's rule gives " + qRef[i];
            }
            for (int b = 0; b < dRef.length; b++) {
                if (Float.floatToRawIntBits(a.d[b]) != Float.floatToRawIntBits(dRef[b])) {
                    return "block " + b + " scale is " + a.d[b] + ", ggml's rule gives " + dRef[b];
                }
            }
            if (format == Q8Activations.Format.Q8_K) {
                for (int g = 0; g < cols / 16; g++) {
                    if (a.bsums[g] != bsumsRef[g]) return "sum of quants " + g + " is " + a.bsums[g] + ", expected " + bsumsRef[g];
                }
            }
            return null;
        }

        private boolean close(float expected, float actual, double scale) {
            return Math.abs((double) expected - actual) <= 1e-5 * scale + 1e-30 && !Float.isNaN(actual);
        }

        private String where(int r) {
            return "row " + r + " of " + cols + " columns";
        }

        void check(Checks c) {
            for (int r = 0; r < CHECK_ROWS; r++) {
                float fast = w.dot(r, x, X_OFFSET);
                if (!close(dotRef[r], fast, scale[r])) {
                    c.fail("float dot", String.format(Locale.ROOT, "%s: %s, scalar %s (tolerance %.3g)", where(r), fast, dotRef[r], 1e-5 * scale[r]));
                }
                w.dequantizeRow(r, deq, 2);
                for (int k = 0; k < cols; k++) {
                    if (Float.floatToRawIntBits(deq[2 + k]) != Float.floatToRawIntBits(deqRef[r][k])) {
                        c.fail("dequantize", where(r) + ", column " + k + ": " + deq[2 + k] + ", scalar " + deqRef[r][k]);
                        break;
                    }
                }
            }
            w.matVec(x, X_OFFSET, out, 1, 0, CHECK_ROWS);
            for (int r = 0; r < CHECK_ROWS; r++) {
                if (!close(dotRef[r], out[1 + r], scale[r])) c.fail("float matVec", where(r) + ": " + out[1 + r] + ", scalar " + dotRef[r]);
            }
            c.comparisons += 3L * CHECK_ROWS;
            if (format == Q8Activations.Format.F32) return;
            activations.quantize(format, x, X_OFFSET, cols);
            String quants = sameQuants(activations);
            c.comparisons++;
            if (quants != null) {
                c.fail("quantize activations", cols + " columns: " + quants);
                return; // the integer dots' references assume the right quants
            }
            for (int r = 0; r < CHECK_ROWS; r++) {
                float fast = w.dot(r, activations);
                if (!close(intRef[r], fast, scale[r])) {
                    c.fail("integer dot", String.format(Locale.ROOT, "%s: %s, scalar %s (tolerance %.3g)", where(r), fast, intRef[r], 1e-5 * scale[r]));
                }
            }
            w.matVec(activations, out, 1, 0, CHECK_ROWS);
            for (int r = 0; r < CHECK_ROWS; r++) {
                if (!close(intRef[r], out[1 + r], scale[r])) c.fail("integer matVec", where(r) + ": " + out[1 + r] + ", scalar " + intRef[r]);
            }
            c.comparisons += 2L * CHECK_ROWS;
            if (w.hasByteActivationKernel()) {
                w.matVecBytes(activations, out, 1, 0, CHECK_ROWS);
                for (int r = 0; r < CHECK_ROWS; r++) {
                    if (!close(intRef[r], out[1 + r], scale[r])) {
                        c.fail("integer matVec on byte quants", where(r) + ": " + out[1 + r] + ", scalar " + intRef[r]);
                    }
                }
                c.comparisons += CHECK_ROWS;
            }
        }
    }

    /** The speed runs: a {@link #SPEED_ROWS} x {@link #SPEED_COLS} matrix, one thread, the best pass within the budget. */
    private static final class Speed {
        final AbstractWeightTensor w;
        final float[] x = new float[SPEED_COLS];
        final float[] out = new float[SPEED_ROWS];
        final Q8Activations activations = new Q8Activations();
        final double bytes;

        Speed(GgmlType type, Random rnd) {
            w = (AbstractWeightTensor) WeightTensor.of(type, randomWeights(type, SPEED_ROWS, SPEED_COLS, rnd), SPEED_ROWS, SPEED_COLS);
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            bytes = w.data().byteSize();
        }

        private double best(long budget, Runnable pass) {
            long until = System.nanoTime() + budget;
            long best = Long.MAX_VALUE;
            do {
                long t0 = System.nanoTime();
                pass.run();
                best = Math.min(best, System.nanoTime() - t0);
            } while (System.nanoTime() < until);
            return bytes / Math.max(1, best);
        }

        double floatGbps(long budget) {
            return best(budget, () -> w.matVec(x, 0, out, 0));
        }

        double integerGbps(long budget) {
            Q8Activations.Format f = w.activationFormat();
            return best(budget, () -> w.matVec(activations.quantize(f, x, 0, SPEED_COLS), out, 0, 0, SPEED_ROWS));
        }
    }
}
