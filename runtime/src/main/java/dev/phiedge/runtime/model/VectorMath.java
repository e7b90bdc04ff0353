package dev.phiedge.runtime.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Float-array kernels of the forward pass on the Vector API (the widest species the CPU has). */
final class VectorMath {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private VectorMath() { }

    /**
     * The batched product's kernel for batches too small for the outer-product kernels ({@link
     * MatMul#OUTER_PRODUCT_FROM}): {@code out[o_r + b*os] = w[w_r ..] . x[x0 + b*xs ..]} for rows
     * r = 0, 1 (at {@code w0}, {@code w1}) and positions b = 0..3: each row chunk and each position chunk
     * is loaded once for 8 FMAs, and the 8 chains are independent (FMA throughput, not latency). Every
     * (row, position) is one FMA chain over k in order and {@link #sum}, exactly as {@link #dot1}, so a
     * result has the same bits whichever of the two computed it.
     *
     * <p>Known, measured and kept: the eight {@link #sum} calls pass C2's NodeCountInliningCutoff, so
     * they stay calls and box their vectors (short-lived garbage the young generation takes). Every
     * allocation-free form tried, the sums written out here or the accumulators passed through a
     * scratch array and summed elsewhere, was 7-10% slower (session 2, when this kernel ran all prompt
     * processing; it now runs only batches of under 16 positions with AVX-512).
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

    /**
     * {@code out[oo + i] = silu(g) * u = g / (1 + e^-g) * u} for {@code g = gate[go + i]}, {@code u = up[uo + i]}:
     * the SwiGLU activation. The exponential is the JDK's vector math library (SVML on x86), within an
     * ulp or so of Math.exp. Decoding Phi-3-mini runs this once a layer on 8192 values, between two
     * products, on one thread: 33 us scalar against 3 us here (1 thread, in isolation), 1% of a token.
     */
    static void swiglu(float[] gate, int go, float[] up, int uo, float[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, go + i);
            g.div(g.neg().lanewise(VectorOperators.EXP).add(1f)).mul(FloatVector.fromArray(F, up, uo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            float g = gate[go + i];
            out[oo + i] = g / (1f + (float) Math.exp(-g)) * up[uo + i];
        }
    }

    /** y[yo + i] += alpha * x[xo + i]. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector a = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, x, xo + i).fma(a, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += alpha * x[xo + i];
    }
}
