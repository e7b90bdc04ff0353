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
 * The vector kernels of Q4_0 weights (layout: see {@link Q4_0Tensor}, ggml's {@code block_q4_0}: fp16
 * {@code d} and 32 quants as nibbles in 16 bytes, 18 bytes). Each takes one row from byte {@code off}
 * of {@code w}, its {@code blocks} blocks:
 * <ul>
 *   <li>{@link #dot}: against float activations, a block at a time by {@link #dotBlock}.</li>
 *   <li>{@link #dotQ8}: against Q8_0 activations ({@link Q8Activations}, quants as shorts), ggml's
 *       vec_dot_q4_0_q8_0: exact integer sums per block, scaled by {@code d_w * d_x} once. The code
 *       here is the 16-lane one; 8 and 4 lanes take {@link #dotQ8On128}.</li>
 *   <li>{@link #dotQ8Bytes}: {@link #dotQ8} on the activation quants as bytes, where that kernel
 *       exists ({@link KernelSpecies#BYTE_ACTIVATIONS}: 16 lanes).</li>
 *   <li>{@link #dotQ8On128}: the same integer dot on 4 and 8 lanes, 8 quants a load widened to 8
 *       shorts (128 bits).</li>
 *   <li>{@link #dequantize}: the row as floats, with the scalar kernel's arithmetic (no FMA).</li>
 * </ul>
 * Each equals its scalar ground truth in {@link Q4_0Tensor} ({@code dotRowScalar},
 * {@code dotRowQ8Scalar}) up to float summation order, and the dequantization
 * ({@code dequantizeRowAtScalar}) bit for bit. Widths and rules: {@link KernelSpecies}.
 */
final class Q4_0Kernels {
    private Q4_0Kernels() {}

    /** Q4_0: 18-byte blocks, fp16 d + 16 bytes of nibbles (see {@link Q4_0Tensor}). */
    static float dot(MemorySegment w, long off, int blocks, float[] x, int xo) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        if (TWO) { // one block per iteration: two would pass C2's inlining node limit and box vectors
            for (; b < blocks; b++, off += 18, xo += 32) a0 = dotBlock(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
            return sum(a0);
        }
        for (; b + 1 < blocks; b += 2, off += 36, xo += 64) {
            a0 = dotBlock(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
            a1 = dotBlock(w, off + 18, x, xo + 32).fma(FloatVector.broadcast(F, fp16(w, off + 18)), a1);
        }
        if (b < blocks) a0 = dotBlock(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
        return sum(a0.add(a1));
    }

    private static FloatVector dotBlock(MemorySegment w, long off, float[] x, int xo) {
        FloatVector s = FloatVector.zero(F);
        for (int p = 0; p < 16; p += N) {
            ByteVector q = bytes(w, off + 2 + p);
            ByteVector lo = q.and((byte) 0x0F).sub((byte) 8), hi = q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            s = toFloat(lo).fma(FloatVector.fromArray(F, x, xo + p), s);
            s = toFloat(hi).fma(FloatVector.fromArray(F, x, xo + 16 + p), s);
            if (TWO) {
                s = toFloatHi(lo).fma(FloatVector.fromArray(F, x, xo + p + L), s);
                s = toFloatHi(hi).fma(FloatVector.fromArray(F, x, xo + 16 + p + L), s);
            }
        }
        return s;
    }

    /**
     * vec_dot_q4_0_q8_0 on 16 lanes: a block's 16 bytes zero-extended to shorts, low nibbles weights
     * 0..15 and high nibbles 16..31, each minus 8, two products a short lane (8 * 127 each: fits). Two
     * blocks per iteration, one row at a time: the fastest form measured (docs/performance.md).
     */
    static float dotQ8(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (L <= 8) return dotQ8On128(w, off, blocks, xq, xd);
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            int xo = 32 * b;
            // from b, not a running offset (see KernelSpecies); and no induction variable of the pairs'
            // own: with one C2 unrolls this loop, which is faster from cache but slower from memory
            long o = off + 18L * b;
            ShortVector q0 = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_N, 0)), q1 = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 20, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_N, 0));
            ShortVector s0 = q0.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo))
                    .add(q0.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 16)));
            ShortVector s1 = q1.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 32))
                    .add(q1.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 48)));
            a0 = ((FloatVector) (((IntVector) s0.convertShape(VectorOperators.S2I, I, 0))).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o) * xd[b]), a0);
            a1 = ((FloatVector) (((IntVector) s1.convertShape(VectorOperators.S2I, I, 0))).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o + 18) * xd[b + 1]), a1);
        }
        if (b < blocks) {
            int xo = 32 * b;
            long o = off + 18L * b;
            ShortVector q0 = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_N, 0));
            ShortVector s0 = q0.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo))
                    .add(q0.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 16)));
            a0 = ((FloatVector) (((IntVector) s0.convertShape(VectorOperators.S2I, I, 0))).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o) * xd[b]), a0);
        }
        FloatVector v = a0.add(a1); // KernelSpecies.sum, written out (see KernelSpecies)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /** {@link #dotQ8} with the activation quants as bytes (see {@link Q8_0Kernels#dotQ8Bytes}); the same result, bit for bit. */
    static float dotQ8Bytes(MemorySegment w, long off, int blocks, byte[] xq, float[] xd) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            int xo = 32 * b;
            long o = off + 18L * b;
            ShortVector q0 = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_N, 0)), q1 = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 20, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_N, 0));
            ShortVector s0 = q0.and((short) 0x0F).sub((short) 8).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo).convertShape(VectorOperators.B2S, SHORTS_N, 0))
                    .add(q0.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo + 16).convertShape(VectorOperators.B2S, SHORTS_N, 0)));
            ShortVector s1 = q1.and((short) 0x0F).sub((short) 8).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo + 32).convertShape(VectorOperators.B2S, SHORTS_N, 0))
                    .add(q1.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo + 48).convertShape(VectorOperators.B2S, SHORTS_N, 0)));
            a0 = ((FloatVector) (((IntVector) s0.convertShape(VectorOperators.S2I, I, 0))).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o) * xd[b]), a0);
            a1 = ((FloatVector) (((IntVector) s1.convertShape(VectorOperators.S2I, I, 0))).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o + 18) * xd[b + 1]), a1);
        }
        if (b < blocks) {
            int xo = 32 * b;
            long o = off + 18L * b;
            ShortVector q0 = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_N, 0));
            ShortVector s0 = q0.and((short) 0x0F).sub((short) 8).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo).convertShape(VectorOperators.B2S, SHORTS_N, 0))
                    .add(q0.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul((ShortVector) ByteVector.fromArray(BYTES_16, xq, xo + 16).convertShape(VectorOperators.B2S, SHORTS_N, 0)));
            a0 = ((FloatVector) (((IntVector) s0.convertShape(VectorOperators.S2I, I, 0))).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, o) * xd[b]), a0);
        }
        FloatVector v = a0.add(a1); // KernelSpecies.sum, written out (see KernelSpecies)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /**
     * vec_dot_q4_0_q8_0 on 4 and 8 lanes, 8 quants a load: each load's 8 bytes zero-extended to shorts
     * give weights j.. (low nibbles) and j + 16.. (high nibbles), each minus 8; the products summed as
     * shorts (four a lane, 8 * 127 each: fits), widened to ints, and each block's ints converted and
     * scaled by one FMA into the row's float vector: one lane sum a row. On 4 lanes this is
     * {@link #dotQ8}'s code at another width (one block per iteration, a loop over the block's loads,
     * ints as parts 0 and 1), 30% faster than a block's exact int sum scaled in scalar code. On 8 lanes
     * the block's two loads are written out and all four products summed before one widening, 7-10%
     * faster than the loop there (AMD Zen 4 at -XX:MaxVectorSize=32; docs/performance.md, 2026-12-06).
     */
    static float dotQ8On128(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (I.length() == 8) { // as Q8_0Kernels.dotQ8On128
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < blocks; b++, off += 18) {
                long qs = off + 2;
                int xo = 32 * b;
                ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, qs, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_N, 0);
                ShortVector q1 = (ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, qs + 8, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_N, 0);
                ShortVector s = q0.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo))
                        .add(q1.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 8)))
                        .add(q0.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 16)))
                        .add(q1.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 24)));
                acc = ((FloatVector) ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0))
                        .fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), acc);
            }
            acc = acc.add(acc.slice(4)); // KernelSpecies.sum written out: a vector argument could be boxed
            acc = acc.add(acc.slice(2));
            return acc.add(acc.slice(1)).lane(0);
        }
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = off + 18L * b;
            int xo = 32 * b;
            ShortVector s = ShortVector.zero(SHORTS_N);
            for (int j = 0; j < 16; j += N) {
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 2 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_N, 0);
                s = q.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo + j))
                        .add(q.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_N, xq, xo + 16 + j))).add(s);
            }
            FloatVector d = FloatVector.broadcast(F, fp16(w, o) * xd[b]);
            acc = ((FloatVector) ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).fma(d, acc);
            if (TWO) acc = ((FloatVector) ((IntVector) s.convertShape(VectorOperators.S2I, I, 1)).convertShape(VectorOperators.I2F, F, 0)).fma(d, acc);
        }
        if (L >= 16) acc = acc.add(acc.slice(8)); // KernelSpecies.sum written out: a vector argument could be boxed
        if (L >= 8) acc = acc.add(acc.slice(4));
        acc = acc.add(acc.slice(2));
        return acc.add(acc.slice(1)).lane(0);
    }

    static void dequantize(MemorySegment w, long off, int blocks, float[] out, int o) {
        for (int b = 0; b < blocks; b++, off += 18, o += 32) {
            FloatVector d = FloatVector.broadcast(F, fp16(w, off));
            if (!TWO) { // nibbles unpacked as ints: x86 has no byte shift, so a byte LSHR is emulated
                for (int p = 0; p < 16; p += N) {
                    IntVector q = (IntVector) bytes(w, off + 2 + p).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    ((FloatVector) q.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).mul(d).intoArray(out, o + p);
                    ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0)).mul(d).intoArray(out, o + 16 + p);
                }
                continue;
            }
            for (int p = 0; p < 16; p += N) {
                ByteVector q = bytes(w, off + 2 + p);
                ByteVector lo = q.and((byte) 0x0F).sub((byte) 8), hi = q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
                toFloat(lo).mul(d).intoArray(out, o + p);
                toFloat(hi).mul(d).intoArray(out, o + 16 + p);
                if (TWO) {
                    toFloatHi(lo).mul(d).intoArray(out, o + p + L);
                    toFloatHi(hi).mul(d).intoArray(out, o + 16 + p + L);
                }
            }
        }
    }
}
