package dev.phiedge.runtime.matmul;

import jdk.incubator.vector.FloatVector;

import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;

/**
 * The batched product's dot-product kernels, for batches too small for the outer-product kernels
 * ({@link OuterProductKernels}; from {@link MatMul#OUTER_PRODUCT_FROM} positions on): dequantized weight
 * rows (float arrays) against float positions. {@link #dot2x4} takes two rows and four positions at a
 * time, {@link #dot1} one row and one position in the same order, so a (row, position) result has the
 * same bits whichever of the two computed it. The rules are every kernel's
 * ({@code tensor.KernelSpecies}, docs/kernels.md): lane sums in {@link #sum}'s fixed order, and nothing
 * allocated once compiled (BatchProductAllocationTest), with one known exception: {@link #dot2x4}'s.
 * Measurements: docs/performance.md.
 */
final class BatchDotKernels {
    private BatchDotKernels() { }

    /**
     * The batched product's kernel for batches too small for the outer-product kernels ({@link
     * MatMul#OUTER_PRODUCT_FROM}): {@code out[o_r + b*os] = w[w_r ..] . x[x0 + b*xs ..]} for rows
     * r = 0, 1 (at {@code w0}, {@code w1}) and positions b = 0..3: each row chunk and each position chunk
     * is loaded once for 8 FMAs, and the 8 chains are independent (FMA throughput, not latency). Every
     * (row, position) is one FMA chain over k in order and {@link #sum}, exactly as {@link #dot1}, so a
     * result has the same bits whichever of the two computed it.
     *
     * <p>A known exception to the no-boxing rule, kept because it measured faster: the eight
     * {@link #sum} calls pass C2's NodeCountInliningCutoff, so they stay calls and box their vectors
     * (short-lived garbage the young generation takes); the allocation-free forms (the sums written
     * out here, or the accumulators summed elsewhere through a scratch array) were slower. It runs only
     * batches of under {@link MatMul#OUTER_PRODUCT_FROM} positions.
     */
    static void dot2x4(float[] w, int w0, int w1, float[] x, int x0, int xs, int n, float[] out, int o0, int o1, int os) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        int k = 0;
        for (; k <= n - L; k += L) {
            FloatVector r0 = FloatVector.fromArray(F, w, w0 + k);
            FloatVector r1 = FloatVector.fromArray(F, w, w1 + k);
            FloatVector v = FloatVector.fromArray(F, x, x0 + k);
            a0 = r0.fma(v, a0);
            c0 = r1.fma(v, c0);
            v = FloatVector.fromArray(F, x, x0 + xs + k);
            a1 = r0.fma(v, a1);
            c1 = r1.fma(v, c1);
            v = FloatVector.fromArray(F, x, x0 + 2 * xs + k);
            a2 = r0.fma(v, a2);
            c2 = r1.fma(v, c2);
            v = FloatVector.fromArray(F, x, x0 + 3 * xs + k);
            a3 = r0.fma(v, a3);
            c3 = r1.fma(v, c3);
        }
        out[o0] = tail(sum(a0), w, w0, x, x0, k, n);
        out[o0 + os] = tail(sum(a1), w, w0, x, x0 + xs, k, n);
        out[o0 + 2 * os] = tail(sum(a2), w, w0, x, x0 + 2 * xs, k, n);
        out[o0 + 3 * os] = tail(sum(a3), w, w0, x, x0 + 3 * xs, k, n);
        out[o1] = tail(sum(c0), w, w1, x, x0, k, n);
        out[o1 + os] = tail(sum(c1), w, w1, x, x0 + xs, k, n);
        out[o1 + 2 * os] = tail(sum(c2), w, w1, x, x0 + 2 * xs, k, n);
        out[o1 + 3 * os] = tail(sum(c3), w, w1, x, x0 + 3 * xs, k, n);
    }

    /** One row, one position, in {@link #dot2x4}'s order. */
    static float dot1(float[] w, int wo, float[] x, int xo, int n) {
        FloatVector a = FloatVector.zero(F);
        int k = 0;
        for (; k <= n - L; k += L) a = FloatVector.fromArray(F, w, wo + k).fma(FloatVector.fromArray(F, x, xo + k), a);
        return tail(sum(a), w, wo, x, xo, k, n);
    }

    private static float tail(float sum, float[] w, int wo, float[] x, int xo, int k, int n) {
        for (; k < n; k++) sum += w[wo + k] * x[xo + k];
        return sum;
    }

    /** The lanes' sum in a fixed pairwise order (constant slice origins: intrinsified). */
    private static float sum(FloatVector v) {
        if (L >= 16) v = v.add(v.slice(8));
        if (L >= 8) v = v.add(v.slice(4));
        if (L >= 4) v = v.add(v.slice(2));
        if (L >= 2) v = v.add(v.slice(1));
        return v.lane(0);
    }
}
