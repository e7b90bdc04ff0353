package dev.phiedge.runtime.matmul;

import jdk.incubator.vector.FloatVector;

import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;

/**
 * The prompt-processing product's kernels: a block of dequantized weight rows times a batch of
 * positions, computed as a sum of outer products, the way BLAS kernels are written.
 *
 * <p>The positions are first transposed ({@link #transpose}) so that the batch's values of one column k
 * lie side by side: {@code xt[k * bp + b]}, {@code bp} the batch padded to whole vectors with zeros. A
 * vector then holds one column's values for {@code L} positions ({@code KernelSpecies.L}), and one
 * step k of a kernel is
 * <pre>
 *   for each row i of the block:  acc[i][positions] += w[i][k] * xt[k][positions]
 * </pre>
 * one broadcast weight against a few position vectors. Each accumulator lane is one (row, position)
 * dot product, so the results come out ready: no horizontal sums, unlike a dot-product kernel
 * ({@link BatchDotKernels#dot2x4}), which also has to reload each position for every row pair. Eight rows
 * against three position vectors keeps 24 accumulators in registers (AVX-512 has 32) and issues 11
 * loads for 24 FMAs; the widest block that fits the registers is the fastest (8 x 3, then 8 x 2, then
 * 8 x 1; measured: docs/performance.md).
 *
 * <p>Every lane runs the same FMA chain over k in order, {@code acc = fma(x[k], w[k], acc)}, so a
 * position's result has the same bits whichever kernel, vector or lane computes it, and whatever the
 * rest of its batch. Each kernel is one method of Vector API calls with no vector-valued helper and no
 * vector crossing a call, so C2 keeps every vector in a register (helpers left as calls box their
 * vectors; see {@code KernelSpecies}). Results go through {@code acc}, laid out {@code [row][position]}.
 */
public final class OuterProductKernels {
    /** Weight rows per kernel call. */
    public static final int ROWS = 8;
    /** Position vectors of the widest kernel; {@code acc} needs {@code ROWS * MAX_VECTORS * L} floats. */
    public static final int MAX_VECTORS = 3;

    private OuterProductKernels() { }

    /** {@code batch} rounded up to whole vectors: the transposed batch's row stride. */
    static int paddedBatch(int batch) {
        return (batch + L - 1) / L * L;
    }

    /**
     * {@code xt[k * bp + b] = in[b * inStride + k]} for b < batch, and 0 for the padding positions
     * {@code batch <= b < bp}. Columns go in blocks of 64, so the block being written (64 x bp floats,
     * 16 KB at bp = 64) stays in L1 while every position is read once, sequentially.
     */
    static void transpose(float[] in, int inStride, int batch, int cols, float[] xt, int bp) {
        for (int k0 = 0; k0 < cols; k0 += 64) {
            int k1 = Math.min(cols, k0 + 64);
            for (int b = 0; b < batch; b++) {
                int src = b * inStride;
                for (int k = k0; k < k1; k++) xt[k * bp + b] = in[src + k];
            }
            for (int k = k0; k < k1; k++) {
                for (int b = batch; b < bp; b++) xt[k * bp + b] = 0f;
            }
        }
    }

    /**
     * {@code acc[i * vectors * L + j] = w[w0 + i * n ..] . xt[.. p0 + j]} for the {@link #ROWS} rows at
     * {@code w0, w0 + n, ...} and the positions {@code p0 .. p0 + vectors * L - 1} of {@code xt}.
     */
    static void rows(int vectors, float[] w, int w0, int n, float[] xt, int p0, int bp, float[] acc) {
        switch (vectors) {
            case 3 -> rows8x3(w, w0, n, xt, p0, bp, acc);
            case 2 -> rows8x2(w, w0, n, xt, p0, bp, acc);
            case 1 -> rows8x1(w, w0, n, xt, p0, bp, acc);
            default -> throw new IllegalArgumentException("1 to 3 position vectors, got " + vectors);
        }
    }

    /** 8 rows against 3 position vectors (24 accumulators); see the class comment. */
    static void rows8x3(float[] w, int w0, int n, float[] xt, int p0, int bp, float[] acc) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F);
        FloatVector a40 = FloatVector.zero(F), a41 = FloatVector.zero(F), a42 = FloatVector.zero(F);
        FloatVector a50 = FloatVector.zero(F), a51 = FloatVector.zero(F), a52 = FloatVector.zero(F);
        FloatVector a60 = FloatVector.zero(F), a61 = FloatVector.zero(F), a62 = FloatVector.zero(F);
        FloatVector a70 = FloatVector.zero(F), a71 = FloatVector.zero(F), a72 = FloatVector.zero(F);
        for (int k = 0; k < n; k++) {
            int xk = k * bp + p0;
            FloatVector x0 = FloatVector.fromArray(F, xt, xk);
            FloatVector x1 = FloatVector.fromArray(F, xt, xk + L);
            FloatVector x2 = FloatVector.fromArray(F, xt, xk + 2 * L);
            FloatVector r;
            r = FloatVector.broadcast(F, w[w0 + k]);
            a00 = x0.fma(r, a00); a01 = x1.fma(r, a01); a02 = x2.fma(r, a02);
            r = FloatVector.broadcast(F, w[w0 + n + k]);
            a10 = x0.fma(r, a10); a11 = x1.fma(r, a11); a12 = x2.fma(r, a12);
            r = FloatVector.broadcast(F, w[w0 + 2 * n + k]);
            a20 = x0.fma(r, a20); a21 = x1.fma(r, a21); a22 = x2.fma(r, a22);
            r = FloatVector.broadcast(F, w[w0 + 3 * n + k]);
            a30 = x0.fma(r, a30); a31 = x1.fma(r, a31); a32 = x2.fma(r, a32);
            r = FloatVector.broadcast(F, w[w0 + 4 * n + k]);
            a40 = x0.fma(r, a40); a41 = x1.fma(r, a41); a42 = x2.fma(r, a42);
            r = FloatVector.broadcast(F, w[w0 + 5 * n + k]);
            a50 = x0.fma(r, a50); a51 = x1.fma(r, a51); a52 = x2.fma(r, a52);
            r = FloatVector.broadcast(F, w[w0 + 6 * n + k]);
            a60 = x0.fma(r, a60); a61 = x1.fma(r, a61); a62 = x2.fma(r, a62);
            r = FloatVector.broadcast(F, w[w0 + 7 * n + k]);
            a70 = x0.fma(r, a70); a71 = x1.fma(r, a71); a72 = x2.fma(r, a72);
        }
        a00.intoArray(acc, 0 * L); a01.intoArray(acc, 1 * L); a02.intoArray(acc, 2 * L);
        a10.intoArray(acc, 3 * L); a11.intoArray(acc, 4 * L); a12.intoArray(acc, 5 * L);
        a20.intoArray(acc, 6 * L); a21.intoArray(acc, 7 * L); a22.intoArray(acc, 8 * L);
        a30.intoArray(acc, 9 * L); a31.intoArray(acc, 10 * L); a32.intoArray(acc, 11 * L);
        a40.intoArray(acc, 12 * L); a41.intoArray(acc, 13 * L); a42.intoArray(acc, 14 * L);
        a50.intoArray(acc, 15 * L); a51.intoArray(acc, 16 * L); a52.intoArray(acc, 17 * L);
        a60.intoArray(acc, 18 * L); a61.intoArray(acc, 19 * L); a62.intoArray(acc, 20 * L);
        a70.intoArray(acc, 21 * L); a71.intoArray(acc, 22 * L); a72.intoArray(acc, 23 * L);
    }

    /** 8 rows against 2 position vectors (16 accumulators); see the class comment. */
    static void rows8x2(float[] w, int w0, int n, float[] xt, int p0, int bp, float[] acc) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        FloatVector a40 = FloatVector.zero(F), a41 = FloatVector.zero(F);
        FloatVector a50 = FloatVector.zero(F), a51 = FloatVector.zero(F);
        FloatVector a60 = FloatVector.zero(F), a61 = FloatVector.zero(F);
        FloatVector a70 = FloatVector.zero(F), a71 = FloatVector.zero(F);
        for (int k = 0; k < n; k++) {
            int xk = k * bp + p0;
            FloatVector x0 = FloatVector.fromArray(F, xt, xk);
            FloatVector x1 = FloatVector.fromArray(F, xt, xk + L);
            FloatVector r;
            r = FloatVector.broadcast(F, w[w0 + k]);
            a00 = x0.fma(r, a00); a01 = x1.fma(r, a01);
            r = FloatVector.broadcast(F, w[w0 + n + k]);
            a10 = x0.fma(r, a10); a11 = x1.fma(r, a11);
            r = FloatVector.broadcast(F, w[w0 + 2 * n + k]);
            a20 = x0.fma(r, a20); a21 = x1.fma(r, a21);
            r = FloatVector.broadcast(F, w[w0 + 3 * n + k]);
            a30 = x0.fma(r, a30); a31 = x1.fma(r, a31);
            r = FloatVector.broadcast(F, w[w0 + 4 * n + k]);
            a40 = x0.fma(r, a40); a41 = x1.fma(r, a41);
            r = FloatVector.broadcast(F, w[w0 + 5 * n + k]);
            a50 = x0.fma(r, a50); a51 = x1.fma(r, a51);
            r = FloatVector.broadcast(F, w[w0 + 6 * n + k]);
            a60 = x0.fma(r, a60); a61 = x1.fma(r, a61);
            r = FloatVector.broadcast(F, w[w0 + 7 * n + k]);
            a70 = x0.fma(r, a70); a71 = x1.fma(r, a71);
        }
        a00.intoArray(acc, 0 * L); a01.intoArray(acc, 1 * L);
        a10.intoArray(acc, 2 * L); a11.intoArray(acc, 3 * L);
        a20.intoArray(acc, 4 * L); a21.intoArray(acc, 5 * L);
        a30.intoArray(acc, 6 * L); a31.intoArray(acc, 7 * L);
        a40.intoArray(acc, 8 * L); a41.intoArray(acc, 9 * L);
        a50.intoArray(acc, 10 * L); a51.intoArray(acc, 11 * L);
        a60.intoArray(acc, 12 * L); a61.intoArray(acc, 13 * L);
        a70.intoArray(acc, 14 * L); a71.intoArray(acc, 15 * L);
    }

    /** 8 rows against 1 position vector (8 accumulators); see the class comment. */
    static void rows8x1(float[] w, int w0, int n, float[] xt, int p0, int bp, float[] acc) {
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F);
        FloatVector a40 = FloatVector.zero(F);
        FloatVector a50 = FloatVector.zero(F);
        FloatVector a60 = FloatVector.zero(F);
        FloatVector a70 = FloatVector.zero(F);
        for (int k = 0; k < n; k++) {
            int xk = k * bp + p0;
            FloatVector x0 = FloatVector.fromArray(F, xt, xk);
            FloatVector r;
            r = FloatVector.broadcast(F, w[w0 + k]);
            a00 = x0.fma(r, a00);
            r = FloatVector.broadcast(F, w[w0 + n + k]);
            a10 = x0.fma(r, a10);
            r = FloatVector.broadcast(F, w[w0 + 2 * n + k]);
            a20 = x0.fma(r, a20);
            r = FloatVector.broadcast(F, w[w0 + 3 * n + k]);
            a30 = x0.fma(r, a30);
            r = FloatVector.broadcast(F, w[w0 + 4 * n + k]);
            a40 = x0.fma(r, a40);
            r = FloatVector.broadcast(F, w[w0 + 5 * n + k]);
            a50 = x0.fma(r, a50);
            r = FloatVector.broadcast(F, w[w0 + 6 * n + k]);
            a60 = x0.fma(r, a60);
            r = FloatVector.broadcast(F, w[w0 + 7 * n + k]);
            a70 = x0.fma(r, a70);
        }
        a00.intoArray(acc, 0 * L);
        a10.intoArray(acc, 1 * L);
        a20.intoArray(acc, 2 * L);
        a30.intoArray(acc, 3 * L);
        a40.intoArray(acc, 4 * L);
        a50.intoArray(acc, 5 * L);
        a60.intoArray(acc, 6 * L);
        a70.intoArray(acc, 7 * L);
    }
}
