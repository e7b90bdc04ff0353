package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * A rough kernel speed check (not a benchmark harness; JMH comes later): matrix-vector products of
 * {@code rows x cols} matrices per type, with enough copies to exceed the caches, reported as GB/s of
 * weight bytes read. Also compares float activations with ggml-style Q8_0 activations and integer dots.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp runtime/target/classes dev.phiedge.runtime.tensor.KernelSpeed [rows cols types...]</pre>
 */
public final class KernelSpeed {
    private static final long WORKING_SET = Long.getLong("workingSetMiB", 640) << 20;

    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 3072;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 8192;
        List<GgmlType> types = new ArrayList<>();
        for (int i = 2; i < args.length; i++) types.add(GgmlType.valueOf(args[i]));
        if (types.isEmpty()) types = List.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.F32);
        System.out.printf("species %s, %d x %d, working set >= %d MiB, cores %d%n", VectorKernels.F, rows, cols,
                WORKING_SET >> 20, Runtime.getRuntime().availableProcessors());
        Random rnd = new Random(1);
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        float[] out = new float[rows];
        try (Arena arena = Arena.ofShared(); ThreadedMatVec pool1 = new ThreadedMatVec(1); ThreadedMatVec pool2 = new ThreadedMatVec(2)) {
            for (GgmlType type : types) {
                WeightTensor[] ts = copies(arena, type, rows, cols, rnd);
                double bytes = (double) ts[0].data().byteSize() * ts.length;
                double scalar = gbps(bytes / ts.length, 1, () -> {
                    AbstractWeightTensor t = (AbstractWeightTensor) ts[0];
                    for (int r = 0; r < rows; r++) out[r] = t.dotScalar(r, x, 0);
                });
                double one = gbps(bytes, 5, () -> { for (WeightTensor t : ts) t.matVec(x, 0, out, 0); });
                double p1 = gbps(bytes, 5, () -> { for (WeightTensor t : ts) pool1.matVec(t, x, 0, out, 0); });
                double p2 = gbps(bytes, 5, () -> { for (WeightTensor t : ts) pool2.matVec(t, x, 0, out, 0); });
                var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                long a0 = mx.getCurrentThreadAllocatedBytes();
                for (WeightTensor t : ts) pool2.matVec(t, x, 0, out, 0);
                long allocated = mx.getCurrentThreadAllocatedBytes() - a0;
                System.out.printf("%-5s scalar %5.2f GB/s | vector 1t %5.2f GB/s | pool(1) %5.2f | pool(2) %5.2f GB/s  (%d copies of %.1f MB; %d bytes allocated per matVec)%n",
                        type, scalar, one, p1, p2, ts.length, ts[0].data().byteSize() / 1e6, allocated / ts.length);
                if (ts[0].activationFormat() != Q8Activations.Format.F32) {
                    Q8Activations xq = new Q8Activations();
                    Q8Activations.Format f = ts[0].activationFormat();
                    double q1 = gbps(bytes, 5, () -> { for (WeightTensor t : ts) t.matVec(xq.quantize(f, x, 0, cols), out, 0, 0, rows); });
                    double qp1 = gbps(bytes, 5, () -> { for (WeightTensor t : ts) pool1.matVec(t, xq.quantize(f, x, 0, cols), out, 0); });
                    double qp2 = gbps(bytes, 5, () -> { for (WeightTensor t : ts) pool2.matVec(t, xq.quantize(f, x, 0, cols), out, 0); });
                    System.out.printf("%-5s %s activations, integer dot: 1t %5.2f GB/s | pool(1) %5.2f | pool(2) %5.2f GB/s%n", type, f, q1, qp1, qp2);
                }
                if (Boolean.getBoolean("oldExperiment") && (type == GgmlType.Q8_0 || type == GgmlType.Q4_0)) {
                    byte[] xq = new byte[cols];
                    float[] xd = new float[cols / 32];
                    quantizeQ8_0(x, xq, xd);
                    double q = gbps(bytes, 5, () -> {
                        for (WeightTensor t : ts) {
                            for (int r = 0; r < rows; r++) {
                                out[r] = type == GgmlType.Q8_0 ? dotQ8Q8(t.data(), r * t.rowBytes(), cols / 32, xq, xd)
                                        : dotQ4Q8(t.data(), r * t.rowBytes(), cols / 32, xq, xd);
                            }
                        }
                    });
                    System.out.printf("%-5s   with Q8_0 activations + integer dot, 1t: %5.2f GB/s%n", type, q);
                }
            }
        }
    }

    private static double gbps(double bytes, int reps, Runnable pass) {
        pass.run(); // warm-up (and JIT)
        pass.run();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            pass.run();
            best = Math.min(best, System.nanoTime() - t0);
        }
        return bytes / best;
    }

    private static WeightTensor[] copies(Arena arena, GgmlType type, int rows, int cols, Random rnd) {
        long rowBytes = type.bytesFor(cols);
        long size = rowBytes * rows;
        MemorySegment first = arena.allocate(size, 64);
        float[] src = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols; k++) src[k] = (float) rnd.nextGaussian() * 0.02f;
            switch (type) {
                case F32, F16, BF16, Q8_0, Q4_0 ->
                        MemorySegment.copy(MemorySegment.ofArray(Quantizer.quantize(type, src, 0, cols)), 0, first, r * rowBytes, rowBytes);
                default -> {
                    byte[] b = new byte[(int) rowBytes];
                    rnd.nextBytes(b);
                    MemorySegment.copy(MemorySegment.ofArray(b), 0, first, r * rowBytes, rowBytes);
                }
            }
        }
        if (type.blockSize() == 256) { // sane fp16 scales for the K-quants
            int[] at = type == GgmlType.Q6_K ? new int[] {208} : new int[] {0, 2};
            for (long o = 0; o < size; o += type.blockBytes()) {
                for (int a : at) first.set(AbstractWeightTensor.LE_SHORT, o + a, Float.floatToFloat16(rnd.nextFloat() * 0.001f));
            }
        }
        int n = (int) Math.max(2, (WORKING_SET + size - 1) / size);
        WeightTensor[] ts = new WeightTensor[n];
        for (int i = 0; i < n; i++) {
            MemorySegment seg = i == 0 ? first : arena.allocate(size, 64).copyFrom(first);
            ts[i] = WeightTensor.of(type, seg, rows, cols);
        }
        return ts;
    }

    // ---- experiment: ggml-style Q8_0 activations and integer dot products ----

    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S512 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S256 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I512 = IntVector.SPECIES_512;
    private static final VectorSpecies<Float> F512 = FloatVector.SPECIES_512;

    static void quantizeQ8_0(float[] x, byte[] q, float[] d) {
        for (int b = 0; b < d.length; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
            float id = amax == 0 ? 0 : 127f / amax;
            d[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            for (int j = 0; j < 32; j++) q[32 * b + j] = (byte) Math.rint(x[32 * b + j] * id);
        }
    }

    static float dotQ8Q8(MemorySegment w, long off, int blocks, byte[] xq, float[] xd) {
        FloatVector acc = FloatVector.zero(F512);
        for (int b = 0; b < blocks; b++, off += 34) {
            ShortVector ws = (ShortVector) ByteVector.fromMemorySegment(B32, w, off + 2, LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S512, 0);
            ShortVector xs = (ShortVector) ByteVector.fromArray(B32, xq, 32 * b).convertShape(VectorOperators.B2S, S512, 0);
            ShortVector p = ws.mul(xs);
            IntVector s = ((IntVector) p.convertShape(VectorOperators.S2I, I512, 0)).add((IntVector) p.convertShape(VectorOperators.S2I, I512, 1));
            float d = Float.float16ToFloat(w.get(AbstractWeightTensor.LE_SHORT, off)) * xd[b];
            acc = ((FloatVector) s.convertShape(VectorOperators.I2F, F512, 0)).fma(FloatVector.broadcast(F512, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static float dotQ4Q8(MemorySegment w, long off, int blocks, byte[] xq, float[] xd) {
        FloatVector acc = FloatVector.zero(F512);
        for (int b = 0; b < blocks; b++, off += 18) {
            ByteVector q = ByteVector.fromMemorySegment(B16, w, off + 2, LITTLE_ENDIAN);
            ShortVector lo = (ShortVector) q.and((byte) 15).sub((byte) 8).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector hi = (ShortVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector x0 = (ShortVector) ByteVector.fromArray(B16, xq, 32 * b).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector x1 = (ShortVector) ByteVector.fromArray(B16, xq, 32 * b + 16).convertShape(VectorOperators.B2S, S256, 0);
            ShortVector p = lo.mul(x0).add(hi.mul(x1)); // |p| <= 2 * 8 * 128
            IntVector s = (IntVector) p.convertShape(VectorOperators.S2I, I512, 0);
            float d = Float.float16ToFloat(w.get(AbstractWeightTensor.LE_SHORT, off)) * xd[b];
            acc = ((FloatVector) s.convertShape(VectorOperators.I2F, F512, 0)).fma(FloatVector.broadcast(F512, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
