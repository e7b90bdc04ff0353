package dev.phiedge.runtime.matmul;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.tensor.KernelSpecies;
import dev.phiedge.runtime.tensor.Q8Activations;
import dev.phiedge.runtime.tensor.Quantizer;
import dev.phiedge.runtime.tensor.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A rough kernel speed check (not a benchmark harness: KernelBenchmark under src/jmh is the JMH one; see
 * docs/kernels.md for how to measure): matrix-vector products of
 * {@code rows x cols} matrices per type, with enough copies to exceed the caches, reported as GB/s of
 * weight bytes read, for the float-activation kernels and, where the type has one, the integer kernel
 * with activations quantized once per product as decoding does ({@link Q8Activations}, quantization
 * time included). Row length matters: try {@code 3072 8192} (ffn_down) and {@code 8192 3072}.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp runtime/target/classes dev.phiedge.runtime.matmul.KernelSpeed [rows cols types...]</pre>
 */
public final class KernelSpeed {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long WORKING_SET = Long.getLong("workingSetMiB", 640) << 20;

    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 3072;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 8192;
        List<GgmlType> types = new ArrayList<>();
        for (int i = 2; i < args.length; i++) types.add(GgmlType.valueOf(args[i]));
        if (types.isEmpty()) types = List.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.F32);
        System.out.printf("species %s, %d x %d, working set >= %d MiB, cores %d%n", KernelSpecies.F, rows, cols,
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
                    WeightTensor t = ts[0];
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
                    long b0 = mx.getCurrentThreadAllocatedBytes();
                    for (WeightTensor t : ts) t.matVec(xq.quantize(f, x, 0, cols), out, 0, 0, rows);
                    long qAllocated = mx.getCurrentThreadAllocatedBytes() - b0;
                    System.out.printf("%-5s %s activations, integer dot: 1t %5.2f GB/s | pool(1) %5.2f | pool(2) %5.2f GB/s  (%d bytes allocated per matVec)%n",
                            type, f, q1, qp1, qp2, qAllocated / ts.length);
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
                for (int a : at) first.set(LE_SHORT, o + a, Float.floatToFloat16(rnd.nextFloat() * 0.001f));
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
}
