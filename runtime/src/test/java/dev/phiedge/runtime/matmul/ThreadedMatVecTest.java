package dev.phiedge.runtime.matmul;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.tensor.FloatKernelsMatchScalarTest;
import dev.phiedge.runtime.tensor.Q8Activations;
import dev.phiedge.runtime.tensor.WeightTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ThreadedMatVecTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void matVecOverThePoolEqualsSingleThreaded(int threads) {
        Random rnd = new Random(7);
        int rows = 67, cols = 256;
        try (ThreadedMatVec pool = new ThreadedMatVec(threads)) {
            for (GgmlType type : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.F32}) {
                WeightTensor w = WeightTensor.of(type, FloatKernelsMatchScalarTest.randomWeights(type, rows, cols, rnd), rows, cols);
                float[] x = new float[cols + 5];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                float[] expected = new float[rows + 1];
                w.matVec(x, 5, expected, 1, 0, rows);
                for (int repeat = 0; repeat < 50; repeat++) { // many calls: the hand-off must not lose a wake-up
                    float[] actual = new float[rows + 1];
                    pool.matVec(w, x, 5, actual, 1);
                    assertArrayEquals(expected, actual, type + " with " + threads + " threads, call " + repeat);
                }
            }
        }
    }

    @Test
    void forRangeCoversEveryIndexOnceInContiguousRanges() {
        try (ThreadedMatVec pool = new ThreadedMatVec(3)) {
            for (int n : new int[] {0, 1, 2, 3, 10, 1000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                pool.forRange(n, (start, end) -> { for (int i = start; i < end; i++) hits.incrementAndGet(i); });
                for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "index " + i + " of " + n);
            }
        }
    }

    @Test
    void aFailureInAWorkerReachesTheCaller() {
        try (ThreadedMatVec pool = new ThreadedMatVec(2)) {
            var e = assertThrows(IllegalStateException.class, () -> pool.forRange(10, (start, end) -> {
                if (Thread.currentThread().getName().startsWith("phi3-matvec")) throw new IllegalStateException("boom in a worker");
                try {
                    Thread.sleep(20); // the caller is slow, so the worker claims chunks too
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            }));
            assertEquals("boom in a worker", e.getMessage());
            int[] sum = new int[1];
            pool.forRange(1, (start, end) -> sum[0] += end - start); // still usable
            assertEquals(1, sum[0]);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void callersOnTwoThreadsSharingATeamEachGetTheirOwnResult(int threads) throws Exception {
        Random rnd = new Random(11);
        int rows = 67, cols = 256;
        WeightTensor q4 = WeightTensor.of(GgmlType.Q4_0, FloatKernelsMatchScalarTest.randomWeights(GgmlType.Q4_0, rows, cols, rnd), rows, cols);
        WeightTensor f32 = WeightTensor.of(GgmlType.F32, FloatKernelsMatchScalarTest.randomWeights(GgmlType.F32, rows, cols, rnd), rows, cols);
        try (ThreadedMatVec pool = new ThreadedMatVec(threads)) {
            Callable<Void> a = () -> repeatMatVec(pool, q4, new Random(1));
            Callable<Void> b = () -> repeatMatVec(pool, f32, new Random(2));
            ExecutorService callers = Executors.newFixedThreadPool(2);
            try {
                Future<Void> fa = callers.submit(a), fb = callers.submit(b);
                fa.get(2, TimeUnit.MINUTES);
                fb.get(2, TimeUnit.MINUTES);
            } finally {
                callers.shutdownNow();
            }
        }
    }

    /** Many products of {@code w}, float and quantized activations, each checked against one row range on this thread. */
    private static Void repeatMatVec(ThreadedMatVec pool, WeightTensor w, Random rnd) {
        Q8Activations q = new Q8Activations();
        for (int repeat = 0; repeat < 300; repeat++) {
            float[] x = new float[w.cols()];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] expected = new float[w.rows()];
            float[] actual = new float[w.rows()];
            if (w.prefersQuantizedActivations() && repeat % 2 == 0) {
                q.quantize(w.activationFormat(), x, 0, w.cols());
                w.matVec(q, expected, 0, 0, w.rows());
                pool.matVec(w, q, actual, 0);
            } else {
                w.matVec(x, 0, expected, 0, 0, w.rows());
                pool.matVec(w, x, 0, actual, 0);
            }
            assertArrayEquals(expected, actual, w + ", call " + repeat);
        }
        return null;
    }

    @Test
    void aTaskThatStartsAProductOnItsOwnTeamIsRefused() {
        try (ThreadedMatVec pool = new ThreadedMatVec(2)) {
            var e = assertThrows(IllegalStateException.class, () -> pool.forRange(10, (start, end) -> pool.forRange(10, (s, t) -> {})));
            assertTrue(e.getMessage().contains("not reentrant"), e.getMessage());
            int[] sum = new int[1];
            pool.forRange(1, (start, end) -> sum[0] += end - start); // still usable
            assertEquals(1, sum[0]);
        }
    }

    @Test
    void closedPoolRefusesWork() {
        ThreadedMatVec pool = new ThreadedMatVec(2);
        pool.close();
        assertThrows(IllegalStateException.class, () -> pool.forRange(4, (s, e) -> {}));
    }
}
