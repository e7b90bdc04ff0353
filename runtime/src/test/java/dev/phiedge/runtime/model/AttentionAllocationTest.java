package dev.phiedge.runtime.model;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attention over the cache allocates nothing once compiled: its kernels pass vectors to a small helper
 * ({@code VectorMath.finiteHalves}), and a helper C2 does not inline boxes them (see
 * DecodeKernelAllocationTest, which runs in the same JVM of its own, execution decode-allocation).
 */
class AttentionAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void compiledAttentionOverTheCacheAllocatesNothing() {
        int heads = 2, headDim = 96, positions = 200;
        Random rnd = new Random(5);
        try (KvCache cache = new KvCache(1, heads, headDim, 256)) {
            float[] k = new float[heads * headDim], v = new float[heads * headDim];
            for (int pos = 0; pos < positions; pos++) {
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) rnd.nextGaussian();
                    v[i] = (float) rnd.nextGaussian();
                }
                cache.store(0, pos, k, 0, v, 0);
            }
            float[] q = new float[heads * headDim], scores = new float[256], out = new float[heads * headDim];
            for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();

            long deadline = System.nanoTime() + 20_000_000_000L; // C2 takes well under a second
            long allocated = -1;
            int zeroRuns = 0;
            while (zeroRuns < 200 && System.nanoTime() < deadline) {
                long before = THREADS.getCurrentThreadAllocatedBytes();
                for (int h = 0; h < heads; h++) {
                    cache.scores(0, h, 0, positions - 1, q, h * headDim, scores);
                    float inv = 1f / VectorMath.expShifted(scores, 0, positions, 8f);
                    for (int t = 0; t < positions; t++) scores[t] *= inv;
                    cache.addWeightedValues(0, h, 0, positions - 1, scores, out, h * headDim);
                }
                allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
                zeroRuns = allocated == 0 ? zeroRuns + 1 : 0;
            }
            assertEquals(0, allocated, "attention over " + positions + " cached positions still allocates after 20 s");
        }
    }
}
