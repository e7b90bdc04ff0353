package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.KernelSpecies.BYTES_16;
import static dev.phiedge.runtime.tensor.KernelSpecies.BYTES_N;
import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.I;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;
import static dev.phiedge.runtime.tensor.KernelSpecies.LE;
import static dev.phiedge.runtime.tensor.KernelSpecies.N;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_N;
import static dev.phiedge.runtime.tensor.KernelSpecies.TWO;
import static dev.phiedge.runtime.tensor.KernelSpecies.bytes;
import static dev.phiedge.runtime.tensor.KernelSpecies.fp16;
import static dev.phiedge.runtime.tensor.KernelSpecies.sum;
import static dev.phiedge.runtime.tensor.KernelSpecies.toFloat;
import static dev.phiedge.runtime.tensor.KernelSpecies.toFloatHi;

/**
 * The vector kernels of Q8_0 weights (layout: see {@link Q8_0Tensor}, ggml's {@code block_q8_0}: fp16
 * {@code d} and 32 int8 quants, 34 bytes). Each takes one row from byte {@code off} of {@code w}, its
 * {@code blocks} blocks:
 * <ul>
 *   <li>{@link #dot}: against float activations, a block at a time by {@link #dotBlock}.</li>
 *   <li>{@link #dotQ8}: against Q8_0 activations ({@link Q8Activations}, quants as shorts), ggml's
 *       vec_dot_q8_0_q8_0: exact integer sums per block, scaled by {@code d_w * d_x} once. The code
 *       here is the 16-lane one; 8 and 4 lanes take {@link #dotQ8On128}.</li>
 *   <li>{@link #dotQ8Bytes}: {@link #dotQ8} on the activation quants as bytes, where that kernel
 *       exists ({@link KernelSpecies#BYTE_ACTIVATIONS}: 16 lanes).</li>
 *   <li>{@link #dotQ8On128}: the same integer dot on 4 and 8 lanes, 8 quants a load widened to 8
 *       shorts (128 bits).</li>
 *   <li>{@link #dequantize}: the row as floats, with the scalar kernel's arithmetic (no FMA).</li>
 * </ul>
 * Each equals its scalar ground truth in {@link Q8_0Tensor} ({@code dotRowScalar},
 * {@code dotRowQ8Scalar}) up to float summation order, and the dequantization
 * ({@code dequantizeRowAtScalar}) bit for bit. Widths and rules: {@link KernelSpecies}.
 */
final class Q8_0Kernels {
    private Q8_0Kernels() {}

    /** Q8_0: 34-byte blocks, fp16 d + 32 int8 (see {@link Q8_0Tensor}). */
    static float dot(MemorySegment w, long off, int blocks, float[] x, int xo) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        if (TWO) { // one block per iteration: two would pass C2's inlining node limit and box vectors
            for (; b < blocks; b++, off += 34, xo += 32) a0 = dotBlock(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
            return sum(a0);
        }
        for (; b + 1 < blocks; b += 2, off += 68, xo += 64) {
            a0 = dotBlock(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
            a1 = dotBlock(w, off + 34, x, xo + 32).fma(FloatVector.broadcast(F, fp16(w, off + 34)), a1);
        }
        if (b < blocks) a0 = dotBlock(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
        return sum(a0.add(a1));
    }

    private static FloatVector dotBlock(MemorySegment w, long off, float[] x, int xo) {
        ByteVector q0 = bytes(w, off + 2);
        FloatVector s = toFloat(q0).mul(FloatVector.fromArray(F, x, xo));
        if (TWO) s = toFloatHi(q0).fma(FloatVector.fromArray(F, x, xo + L), s);
        for (int p = N; p < 32; p += N) {
            ByteVector q = bytes(w, off + 2 + p);
            s = toFloat(q).fma(FloatVector.fromArray(F, x, xo + p), s);
            if (TWO) s = toFloatHi(q).fma(FloatVector.fromArray(F, x, xo + p + L), s);
        }
        return s;
    }

    static float dotQ8(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (L <= 8) return dotQ8On128(w, off, blocks, xq, xd);
        // 16 lanes: a block is two loads of 16; two products summed as shorts (|q x| <= 128 * 127 each)
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            int xo = 32 * b;
            long o = off + 34L * b; // from b, not a running offset, as in the K-quant kernels (see Q4_0Kernels.dotQ8)
            IntVector s0 = ((IntVector) (((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul(ShortVector.fromArray(SHORTS_N, xq, xo)).add(((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 18, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 16)))).convertShape(VectorOperators.S2I, I, 0));
            IntVector s1 = ((IntVector) (((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 36, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 32)).add(((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 52, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 48)))).convertShape(VectorOperators.S2I, I, 0));
            a0 = ((FloatVector) s0.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o) * xd[b]), a0);
            a1 = ((FloatVector) s1.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o + 34) * xd[b + 1]), a1);
        }
        if (b < blocks) {
            int xo = 32 * b;
            long o = off + 34L * b;
            IntVector s0 = ((IntVector) (((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul(ShortVector.fromArray(SHORTS_N, xq, xo)).add(((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 18, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 16)))).convertShape(VectorOperators.S2I, I, 0));
            a0 = ((FloatVector) s0.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o) * xd[b]), a0);
        }
        FloatVector v = a0.add(a1); // KernelSpecies.sum, written out (see KernelSpecies)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /**
     * {@link #dotQ8} with the activation quants as bytes ({@link Q8Activations#quantBytes}), widened
     * here: the same integer sums in the same order (the same result, bit for bit), for half the
     * activation bytes a block, which wins on long rows where the short quants do not stay in L1.
     */
    static float dotQ8Bytes(MemorySegment w, long off, int blocks, byte[] xq, float[] xd) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            int xo = 32 * b;
            long o = off + 34L * b;
            IntVector s0 = ((IntVector) (((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo).convertShape(VectorOperators.B2S, SHORTS_N, 0)).add(((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 18, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo + 16).convertShape(VectorOperators.B2S, SHORTS_N, 0)))).convertShape(VectorOperators.S2I, I, 0));
            IntVector s1 = ((IntVector) (((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 36, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo + 32).convertShape(VectorOperators.B2S, SHORTS_N, 0)).add(((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 52, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo + 48).convertShape(VectorOperators.B2S, SHORTS_N, 0)))).convertShape(VectorOperators.S2I, I, 0));
            a0 = ((FloatVector) s0.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o) * xd[b]), a0);
            a1 = ((FloatVector) s1.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o + 34) * xd[b + 1]), a1);
        }
        if (b < blocks) {
            int xo = 32 * b;
            long o = off + 34L * b;
            IntVector s0 = ((IntVector) (((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo).convertShape(VectorOperators.B2S, SHORTS_N, 0)).add(((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 18, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo + 16).convertShape(VectorOperators.B2S, SHORTS_N, 0)))).convertShape(VectorOperators.S2I, I, 0));
            a0 = ((FloatVector) s0.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o) * xd[b]), a0);
        }
        FloatVector v = a0.add(a1); // KernelSpecies.sum, written out (see KernelSpecies)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /**
     * vec_dot_q8_0_q8_0 on 4 and 8 lanes, 8 quants a load: two loads' products summed as shorts
     * (|q x| <= 128 * 127 each: two fit), widened to ints, and each block's ints converted and scaled by
     * one FMA into the row's float vector: one lane sum a row. On 4 lanes this is {@link #dotQ8}'s code
     * at another width (one block per iteration, a loop over pairs of loads, ints as parts 0 and 1),
     * 25% faster than a block's exact int sum scaled in scalar code. On 8 lanes the block's four loads
     * are written out, a few percent faster than the loop there (AMD Zen 4 at -XX:MaxVectorSize=32;
     * docs/performance.md, 2026-12-06).
     */
    static float dotQ8On128(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (I.length() == 8) { // 8 ints fill a float vector: accumulate in it, one lane sum a row
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < blocks; b++, off += 34) {
                long qs = off + 2;
                int xo = 32 * b;
                ShortVector s = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, qs, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0))
                        .mul(ShortVector.fromArray(SHORTS_N, xq, xo))
                        .add(((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, qs + 8, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0))
                                .mul(ShortVector.fromArray(SHORTS_N, xq, xo + 8)));
                ShortVector t = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, qs + 16, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0))
                        .mul(ShortVector.fromArray(SHORTS_N, xq, xo + 16))
                        .add(((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, qs + 24, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0))
                                .mul(ShortVector.fromArray(SHORTS_N, xq, xo + 24)));
                IntVector i = ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) t.convertShape(VectorOperators.S2I, I, 0));
                acc = ((FloatVector) i.convertShape(VectorOperators.I2F, F, 0))
                        .fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), acc);
            }
            acc = acc.add(acc.slice(4)); // KernelSpecies.sum written out: a vector argument could be boxed
            acc = acc.add(acc.slice(2));
            return acc.add(acc.slice(1)).lane(0);
        }
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = off + 34L * b;
            int xo = 32 * b;
            IntVector i = IntVector.zero(I);
            for (int j = 0; j < 32; j += 2 * N) {
                ShortVector s = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2 + j, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0))
                        .mul(ShortVector.fromArray(SHORTS_N, xq, xo + j))
                        .add(((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2 + N + j, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0))
                                .mul(ShortVector.fromArray(SHORTS_N, xq, xo + N + j)));
                i = i.add((IntVector) s.convertShape(VectorOperators.S2I, I, 0));
                if (TWO) i = i.add((IntVector) s.convertShape(VectorOperators.S2I, I, 1));
            }
            acc = ((FloatVector) i.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o) * xd[b]), acc);
        }
        if (L >= 16) acc = acc.add(acc.slice(8)); // KernelSpecies.sum written out: a vector argument could be boxed
        if (L >= 8) acc = acc.add(acc.slice(4));
        acc = acc.add(acc.slice(2));
        return acc.add(acc.slice(1)).lane(0);
    }

    static void dequantize(MemorySegment w, long off, int blocks, float[] out, int o) {
        for (int b = 0; b < blocks; b++, off += 34, o += 32) {
            FloatVector d = FloatVector.broadcast(F, fp16(w, off));
            for (int p = 0; p < 32; p += N) {
                ByteVector q = bytes(w, off + 2 + p);
                toFloat(q).mul(d).intoArray(out, o + p);
                if (TWO) toFloatHi(q).mul(d).intoArray(out, o + p + L);
            }
        }
    }
}
