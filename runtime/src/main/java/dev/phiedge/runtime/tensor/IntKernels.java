package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.KernelSpecies.BYTES_16;
import static dev.phiedge.runtime.tensor.KernelSpecies.BYTES_2L;
import static dev.phiedge.runtime.tensor.KernelSpecies.BYTES_N;
import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.I;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;
import static dev.phiedge.runtime.tensor.KernelSpecies.LE;
import static dev.phiedge.runtime.tensor.KernelSpecies.LONGS_HALF_L;
import static dev.phiedge.runtime.tensor.KernelSpecies.N;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_2L;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_N;
import static dev.phiedge.runtime.tensor.KernelSpecies.fp16;

/**
 * ggml-style integer dot products of one weight row against {@link Q8Activations}, on 8 or 16 float
 * lanes (AVX2, AVX-512; 4 lanes, and Q8_0/Q4_0 on 8, go to {@link IntKernels128}): quants widen to N = L
 * shorts, multiplied by the activations' quants (kept as shorts), widened to L ints and summed
 * exactly; each block's integer sums become floats once and are scaled by {@code d_w * d_x} (ggml's
 * vec_dot_q*_q8_*). Every conversion keeps the lane count (part 0), which C2 intrinsifies.
 * Results equal {@code dot.<type>} of quant-vectors (ggml's own vec_dot) up to float summation order;
 * each tensor class's scalar {@code dotRowQ8Scalar} is the ground truth the tests hold them to, and
 * cites its block layout from ggml-common.h ({@link Q4_0Tensor}, {@link Q8_0Tensor}, {@link Q4KTensor},
 * {@link Q5KTensor}, {@link Q6KTensor}).
 *
 * <p>Rules for these kernels (all of them, and how to measure a change: docs/kernels.md; the
 * measurements behind them: docs/performance.md):
 * <ul>
 *   <li>No vector crosses a call of ours. Once a kernel method's Vector API calls pass C2's
 *       NodeCountInliningCutoff, C2 leaves its later calls to small methods of ours (a lane sum, a
 *       widening) as real calls and boxes every vector passed to one: the kernel allocates per row and
 *       runs several times slower, in some JVM runs and not others. The Vector API's own methods are
 *       force-inlined even then. So each kernel is one method of Vector API calls: loads, widenings
 *       and the lane sum of {@link KernelSpecies#sum} are written out; a helper of ours takes and
 *       returns scalars only ({@link #scales}, {@link #superBlockQ6K}). DecodeKernelAllocationTest
 *       checks that a compiled decode product allocates nothing.</li>
 *   <li>Work a full register at a time and count instructions per weight. Q4_K's and Q5_K's packed
 *       bytes are zero-extended to 2L shorts ({@link KernelSpecies#SHORTS_2L}) first, one widening per 32 bytes, and split
 *       there (low nibble: a mask; high nibble: an arithmetic shift, exact on zero-extended values;
 *       Q5_K's fifth bits from its widened {@code qh}). Q6_K's are unpacked as bytes (nibbles and high
 *       bits shifted on int lanes, which x86 shifts by an immediate, then masked), then widened. The
 *       two products in each int lane are summed as {@code (v + (v << 16)) >> 16} (exact: a sum fits a
 *       short), which is ggml's {@code madd} in three instructions.</li>
 *   <li>Address block or super-block b as {@code off + size * b}, never by a running offset, so that
 *       C2 proves the loads' bounds once per row instead of at every load.</li>
 *   <li>The K-quant kernels need {@code -XX:LoopUnrollLimit=400} ({@link KernelSpecies#LOOPS_UNROLLED}).</li>
 * </ul>
 */
final class IntKernels {
    private IntKernels() {}

    // ---------------------------------------------------------------- Q8_0 and Q4_0 x Q8_0

    static float dotQ8_0(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (L <= 8) return IntKernels128.dotQ8_0(w, off, blocks, xq, xd);
        // 16 lanes: a block is two loads of 16; two products summed as shorts (|q x| <= 128 * 127 each)
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            int xo = 32 * b;
            long o = off + 34L * b; // from b, not a running offset, as in the K-quant kernels (see dotQ4_0)
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
        FloatVector v = a0.add(a1); // KernelSpecies.sum, written out (see the class comment)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /**
     * vec_dot_q4_0_q8_0 on 16 lanes: a block's 16 bytes zero-extended to shorts, low nibbles weights
     * 0..15 and high nibbles 16..31, each minus 8, two products a short lane (8 * 127 each: fits). Two
     * blocks per iteration, one row at a time: the fastest form measured (docs/performance.md).
     */
    static float dotQ4_0(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (L <= 8) return IntKernels128.dotQ4_0(w, off, blocks, xq, xd);
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            int xo = 32 * b;
            // from b, not a running offset (see the class comment); and no induction variable of the pairs'
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
        FloatVector v = a0.add(a1); // KernelSpecies.sum, written out (see the class comment)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /**
     * {@link #dotQ8_0} with the activation quants as bytes ({@link Q8Activations#quantBytes}), widened
     * here: the same integer sums in the same order (the same result, bit for bit), for half the
     * activation bytes a block, which wins on long rows where the short quants do not stay in L1.
     */
    static float dotQ8_0Bytes(MemorySegment w, long off, int blocks, byte[] xq, float[] xd) {
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
        FloatVector v = a0.add(a1); // KernelSpecies.sum, written out (see the class comment)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /** {@link #dotQ4_0} with the activation quants as bytes (see {@link #dotQ8_0Bytes}); the same result, bit for bit. */
    static float dotQ4_0Bytes(MemorySegment w, long off, int blocks, byte[] xq, float[] xd) {
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
        FloatVector v = a0.add(a1); // KernelSpecies.sum, written out (see the class comment)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    // ---------------------------------------------------------------- K-quants x Q8_K

    /** The 8 six-bit scales of a Q4_K/Q5_K super-block, byte j = sub-block j (ggml's utmp unpacking); written out in {@link #dotQ4K} and {@link #dotQ5K}. */
    static long scales(MemorySegment w, long sc) {
        int u0 = w.get(AbstractWeightTensor.LE_INT, sc);
        int u2 = w.get(AbstractWeightTensor.LE_INT, sc + 8);
        int lo = u0 & 0x3f3f3f3f;
        int hi = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
        return (lo & 0xffffffffL) | ((long) hi << 32);
    }

    /**
     * sum_j m_j * (the sum of x's quants in sub-block j), for the 8 mins packed in {@code mn}: the
     * scalar form, used by the 4-lane kernels ({@link IntKernels128}). The 8- and 16-lane Q4_K and Q5_K
     * kernels compute the same term in their own int shape ({@link #dotQ4K}).
     */
    static int minsTimesSums(long mn, int[] bsums32, int k) {
        return (int) (mn & 0xFF) * bsums32[k] + (int) ((mn >>> 8) & 0xFF) * bsums32[k + 1]
                + (int) ((mn >>> 16) & 0xFF) * bsums32[k + 2] + (int) ((mn >>> 24) & 0xFF) * bsums32[k + 3]
                + (int) ((mn >>> 32) & 0xFF) * bsums32[k + 4] + (int) ((mn >>> 40) & 0xFF) * bsums32[k + 5]
                + (int) ((mn >>> 48) & 0xFF) * bsums32[k + 6] + (int) (mn >>> 56) * bsums32[k + 7];
    }

    /** The 8 six-bit mins, byte j = sub-block j; written out in {@link #dotQ4K} and {@link #dotQ5K}. */
    static long mins(MemorySegment w, long sc) {
        int u1 = w.get(AbstractWeightTensor.LE_INT, sc + 4);
        int u2 = w.get(AbstractWeightTensor.LE_INT, sc + 8);
        int lo = u1 & 0x3f3f3f3f;
        int hi = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
        return (lo & 0xffffffffL) | ((long) hi << 32);
    }

    /**
     * vec_dot_q5_K_q8_K: as {@link #dotQ4K} with the fifth bit of weight l of sub-block j at bit j of
     * {@code qh[l]}; |q x| <= 31 * 128, so two products still fit a short. The 2L {@code qh} bytes of
     * a step are loaded once and serve all four sub-block pairs (the inner loop over c), which keeps the
     * loop body small enough for C2 to inline every Vector API call in it (a body per c with its own
     * {@code qh} loads passes C2's NodeCountInliningCutoff and boxes vectors).
     */
    static float dotQ5K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums32, int[] minsOrderSums, int blockStep) {
        if (L == 4) return IntKernels128.dotQ5K(w, off, blocks, xq, xd, bsums32);
        FloatVector acc = FloatVector.zero(F);
        // the mins term (see dotQ4K), accumulated beside acc
        IntVector minsShift = IntVector.zero(I).addIndex(1).lanewise(VectorOperators.LSHR, 1).lanewise(VectorOperators.LSHL, 3);
        IntVector minsMask = IntVector.zero(I).addIndex(1).lanewise(VectorOperators.LSHR, 3).sub(1).and(0xFF);
        FloatVector minAcc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b += blockStep) {
            long o = off + 176L * b;
            int u0 = w.get(AbstractWeightTensor.LE_INT, o + 4), u1 = w.get(AbstractWeightTensor.LE_INT, o + 8), u2 = w.get(AbstractWeightTensor.LE_INT, o + 12);
            long sc = (u0 & 0x3f3f3f3fL) | (long) ((u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4)) << 32;
            IntVector isum = IntVector.zero(I);
            for (int p = 0; p < 32; p += 2 * L) {
                ShortVector h = (ShortVector) ByteVector.fromMemorySegment(BYTES_2L, w, o + 16 + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_2L, 0);
                for (int c = 0; c < 4; c++) { // sub-blocks 2c (low nibbles, qh bit 2c) and 2c + 1 (high, bit 2c + 1)
                    int xo = 256 * b + 64 * c + p;
                    ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BYTES_2L, w, o + 48 + 32 * c + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_2L, 0);
                    ShortVector g = h.lanewise(VectorOperators.ASHR, 2 * c); // bits 2c, 2c + 1 of each byte at bits 0, 1
                    ShortVector lo = q.and((short) 0x0F).or(g.lanewise(VectorOperators.LSHL, 4).and((short) 0x10));
                    ShortVector hi = q.lanewise(VectorOperators.ASHR, 4).or(g.lanewise(VectorOperators.LSHL, 3).and((short) 0x10));
                    IntVector pl = lo.mul(ShortVector.fromArray(SHORTS_2L, xq, xo)).reinterpretAsInts();
                    IntVector ph = hi.mul(ShortVector.fromArray(SHORTS_2L, xq, xo + 32)).reinterpretAsInts();
                    isum = pl.add(pl.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) ((sc >>> (16 * c)) & 0xFF))
                            .add(ph.add(ph.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul((int) ((sc >>> (16 * c + 8)) & 0xFF))).add(isum);
                }
            }
            float dx = xd[b];
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, dx * Float.float16ToFloat(w.get(AbstractWeightTensor.LE_SHORT, o))), acc);
            long mn = (u1 & 0x3f3f3f3fL) | (long) (((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4)) << 32;
            IntVector m = LongVector.broadcast(LONGS_HALF_L, mn).reinterpretAsInts().lanewise(VectorOperators.LSHR, minsShift).and(minsMask);
            minAcc = ((FloatVector) m.mul(IntVector.fromArray(I, minsOrderSums, 8 * b)).convertShape(VectorOperators.I2F, F, 0))
                    .fma(FloatVector.broadcast(F, dx * Float.float16ToFloat(w.get(AbstractWeightTensor.LE_SHORT, o + 2))), minAcc);
        }
        FloatVector v = acc.sub(minAcc); // KernelSpecies.sum, written out (see the class comment)
        if (L >= 16) v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /**
     * vec_dot_q4_K_q8_K: per super-block, {@code d_x*d * sum_j sc_j * (q . x)_j} in
     * integers, minus {@code d_x*dmin * sum_j m_j * bsum_j} (the bsums of Q8_K make the mins cheap).
     * Per lane at most 8 sub-blocks * 63 * (32/L) * 31 * 128: fits an int.
     *
     * <p>The mins term (here and in {@link #dotQ5K}), {@code d_x * dmin * sum_j m_j
     * * bsum_j} per super-block, stays in the kernel's own vector shape: the 8 packed mins
     * ({@link #mins}, a long) broadcast as L / 2 longs are, read as ints, the low and the high half in
     * turn; shifted right per lane by 0, 0, 8, 8, 16, 16, 24, 24 and masked to a byte (lanes 8-15 to 0),
     * int lane 2k holds m_k and lane 2k + 1 m_(k+4), in the order of
     * {@link Q8Activations#minsOrderSums}; one multiply, one conversion and one FMA per super-block.
     * Scalar work per super-block (byte extractions, scalar multiplies, moving scalars into vector
     * registers) costs more here than the vector work it feeds: keep it out of these kernels.
     *
     * <p>These two kernels are at C2's inlining node budget (NodeCountInliningCutoff), where any call
     * of ours may stay a call, around which every live vector register is spilled. So they call no
     * helper at all: the fp16 scales are read with {@code Float.float16ToFloat} written out, and the
     * scales and mins are unpacked in the kernel, not by {@link #scales} and {@link #mins}. And the
     * super-block loop's stride is a parameter, {@code blockStep}, always 1: this method, far too large
     * to inline, is compiled on its own, where the stride is not a constant, so C2 does not unroll the
     * super-block loop (unrolled, it spills) while it still unrolls the sub-block loops.
     */
    static float dotQ4K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums32, int[] minsOrderSums, int blockStep) {
        if (L == 4) return IntKernels128.dotQ4K(w, off, blocks, xq, xd, bsums32);
        FloatVector acc = FloatVector.zero(F);
        // the mins term (see dotQ4K), accumulated beside acc
        IntVector minsShift = IntVector.zero(I).addIndex(1).lanewise(VectorOperators.LSHR, 1).lanewise(VectorOperators.LSHL, 3);
        IntVector minsMask = IntVector.zero(I).addIndex(1).lanewise(VectorOperators.LSHR, 3).sub(1).and(0xFF);
        FloatVector minAcc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b += blockStep) {
            long o = off + 144L * b;
            int u0 = w.get(AbstractWeightTensor.LE_INT, o + 4), u1 = w.get(AbstractWeightTensor.LE_INT, o + 8), u2 = w.get(AbstractWeightTensor.LE_INT, o + 12);
            long sc = (u0 & 0x3f3f3f3fL) | (long) ((u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4)) << 32;
            IntVector isum = IntVector.zero(I);
            for (int c = 0; c < 4; c++) { // sub-blocks 2c (low nibbles) and 2c + 1 (high) share 32 bytes
                int sLo = (int) ((sc >>> (16 * c)) & 0xFF), sHi = (int) ((sc >>> (16 * c + 8)) & 0xFF);
                long qs = o + 16 + 32 * c;
                int xo = 256 * b + 64 * c;
                for (int p = 0; p < 32; p += 2 * L) {
                    ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BYTES_2L, w, qs + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_2L, 0);
                    IntVector lo = q.and((short) 0x0F).mul(ShortVector.fromArray(SHORTS_2L, xq, xo + p)).reinterpretAsInts();
                    IntVector hi = q.lanewise(VectorOperators.ASHR, 4).mul(ShortVector.fromArray(SHORTS_2L, xq, xo + 32 + p)).reinterpretAsInts();
                    isum = lo.add(lo.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sLo)
                            .add(hi.add(hi.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(sHi)).add(isum);
                }
            }
            float dx = xd[b];
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, dx * Float.float16ToFloat(w.get(AbstractWeightTensor.LE_SHORT, o))), acc);
            long mn = (u1 & 0x3f3f3f3fL) | (long) (((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4)) << 32;
            IntVector m = LongVector.broadcast(LONGS_HALF_L, mn).reinterpretAsInts().lanewise(VectorOperators.LSHR, minsShift).and(minsMask);
            minAcc = ((FloatVector) m.mul(IntVector.fromArray(I, minsOrderSums, 8 * b)).convertShape(VectorOperators.I2F, F, 0))
                    .fma(FloatVector.broadcast(F, dx * Float.float16ToFloat(w.get(AbstractWeightTensor.LE_SHORT, o + 2))), minAcc);
        }
        FloatVector v = acc.sub(minAcc); // KernelSpecies.sum, written out (see the class comment)
        if (L >= 16) v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /**
     * vec_dot_q6_K_q8_K: quants 0..63 times x, in integers per 16 weights times their int8 scale,
     * minus {@code 32 * sum_i sc_i * bsum_i}; scaled by {@code d_x * d} per super-block
     * ({@link #superBlockQ6K}). A chunk of 2L = 32 weights spans two scale groups: int lanes 0-7
     * (weights 0-15) take the first scale, lanes 8-15 the second. Both come from one broadcast int of
     * four scale bytes, shifted left per lane and back by 24 (sign-extending the byte): two broadcasts
     * per 128 weights, not a broadcast and a scalar load per byte. No VectorMask constant blends: they
     * allocate in some compilations. 8 lanes take {@link #dotQ6K8}.
     */
    static float dotQ6K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums) {
        if (L == 4) return IntKernels128.dotQ6K(w, off, blocks, xq, xd, bsums);
        if (L == 8) return dotQ6K8(w, off, blocks, xq, xd, bsums);
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long o = off + 210L * b;
            sum += xd[b] * fp16(w, o + 208) * superBlockQ6K(w, o, xq, 256 * b, bsums, 16 * b);
        }
        return sum;
    }

    /**
     * One Q6_K super-block of {@link #dotQ6K} on 16 lanes, as an exact int: {@code sum_i sc_i * (q . x)_i
     * - 32 * sum_i sc_i * bsum_i}. A method of its own that takes and returns scalars, so that no vector
     * crosses a call whether C2 inlines it or not: the whole kernel in one method, the largest of these,
     * boxes its vectors in some compilations.
     */
    private static int superBlockQ6K(MemorySegment w, long o, short[] xq, int xo0, int[] bsums, int bs) {
        // -1 in int lanes 8-15, 0 in 0-7: selects a chunk's second scale
        IntVector upper = IntVector.zero(I).addIndex(1).lanewise(VectorOperators.LSHR, 3).neg();
        IntVector shiftEven = IntVector.broadcast(I, 24).sub(upper.and(8)), shiftOdd = shiftEven.sub(16); // 24 | 16, 8 | 0
        IntVector isum = IntVector.zero(I);
        for (int n = 0; n < 2; n++) {
            for (int p = 0; p < 32; p += 2 * L) {
                long ql = o + 64 * n + p, sc = o + 192 + 8 * n + p / 16;
                int xo = xo0 + 128 * n + p;
                ByteVector a = ByteVector.fromMemorySegment(BYTES_2L, w, ql, LE), c = ByteVector.fromMemorySegment(BYTES_2L, w, ql + 32, LE);
                IntVector h = ByteVector.fromMemorySegment(BYTES_2L, w, o + 128 + 32 * n + p, LE).reinterpretAsInts();
                // weights l, l + 32, l + 64, l + 96: a nibble of ql and two bits of qh each (unpacked as
                // bytes, then widened: here faster than widening first as Q4_K and Q5_K do)
                ByteVector w0 = a.and((byte) 0x0F).or(h.lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes().and((byte) 0x30));
                ByteVector w1 = c.and((byte) 0x0F).or(h.lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes().and((byte) 0x30));
                ByteVector w2 = a.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(h.reinterpretAsBytes().and((byte) 0x30));
                ByteVector w3 = c.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(h.lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes().and((byte) 0x30));
                IntVector p0 = ((ShortVector) w0.convertShape(VectorOperators.B2S, SHORTS_2L, 0)).mul(ShortVector.fromArray(SHORTS_2L, xq, xo)).reinterpretAsInts();
                IntVector p1 = ((ShortVector) w1.convertShape(VectorOperators.B2S, SHORTS_2L, 0)).mul(ShortVector.fromArray(SHORTS_2L, xq, xo + 32)).reinterpretAsInts();
                IntVector p2 = ((ShortVector) w2.convertShape(VectorOperators.B2S, SHORTS_2L, 0)).mul(ShortVector.fromArray(SHORTS_2L, xq, xo + 64)).reinterpretAsInts();
                IntVector p3 = ((ShortVector) w3.convertShape(VectorOperators.B2S, SHORTS_2L, 0)).mul(ShortVector.fromArray(SHORTS_2L, xq, xo + 96)).reinterpretAsInts();
                // int lane i sums weights 2i, 2i + 1: lanes 0-7 take the chunk's first 16-weight scale, 8-15 the second
                // the chunk's 8 int8 scales, 4 to an int: scale 2k to lanes 0-7 and 2k + 1 to lanes 8-15 by a
                // per-lane shift left (24 or 16; 8 or 0) and an arithmetic shift right by 24
                IntVector lo4 = IntVector.broadcast(I, w.get(AbstractWeightTensor.LE_INT, sc)), hi4 = IntVector.broadcast(I, w.get(AbstractWeightTensor.LE_INT, sc + 4));
                IntVector s0 = lo4.lanewise(VectorOperators.LSHL, shiftEven).lanewise(VectorOperators.ASHR, 24);
                IntVector s1 = lo4.lanewise(VectorOperators.LSHL, shiftOdd).lanewise(VectorOperators.ASHR, 24);
                IntVector s2 = hi4.lanewise(VectorOperators.LSHL, shiftEven).lanewise(VectorOperators.ASHR, 24);
                IntVector s3 = hi4.lanewise(VectorOperators.LSHL, shiftOdd).lanewise(VectorOperators.ASHR, 24);
                isum = p0.add(p0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(s0)
                        .add(p1.add(p1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(s1))
                        .add(p2.add(p2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(s2))
                        .add(p3.add(p3.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).mul(s3)).add(isum);
            }
        }
        // the 32 offset: sum_i sc_i * bsum_i, 16 scales a load
        IntVector corr = ((IntVector) ByteVector.fromMemorySegment(BYTES_N, w, o + 192, LE).convertShape(VectorOperators.B2I, I, 0)).mul(IntVector.fromArray(I, bsums, bs));
        return isum.sub(corr.lanewise(VectorOperators.LSHL, 5)).reduceLanes(VectorOperators.ADD);
    }

    /**
     * {@link #dotQ6K} on 8 lanes, in chunks of N = 8 weights (never straddling a 16-weight scale group).
     * The wide form of dotQ6K, on 8 lanes, left vector conversions un-intrinsified (allocating) in some
     * compilations (DecodeKernelAllocationTest with -XX:MaxVectorSize=32); this form does not.
     */
    private static float dotQ6K8(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums) {
        FloatVector acc = FloatVector.zero(F);
        FloatVector corrAcc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, off += 210) {
            IntVector isum = IntVector.zero(I);
            for (int g = 0; g < 4; g++) {
                int n = g >> 1;
                int part = g & 1;
                long ql = off + 64 * n + 32 * part;
                long qh = off + 128 + 32 * n;
                long sc = off + 192 + 8 * n + 2 * part;
                int xg = 256 * b + 128 * n + 32 * part;
                for (int p = 0; p < 32; p += N) { // weights l (low nibble, qh bits 2part..) and l + 64 (high, bits 2part+4..)
                    ShortVector q = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, ql + p, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0));
                    ShortVector h = ((ShortVector) ByteVector.fromMemorySegment(BYTES_N, w, qh + p, LE).convertShape(VectorOperators.B2S, SHORTS_N, 0)).lanewise(VectorOperators.LSHR, 2 * part);
                    ShortVector qa = q.and((short) 0x0F).or(h.and((short) 3).lanewise(VectorOperators.LSHL, 4));
                    ShortVector qb = q.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F).or(h.and((short) 0x30));
                    long is = sc + p / 16; // N (8 or 16) weights never straddle a 16-weight scale group
                    isum = ((IntVector) (qa.mul(ShortVector.fromArray(SHORTS_N, xq, xg + p))).convertShape(VectorOperators.S2I, I, 0)).mul(w.get(AbstractWeightTensor.BYTE, is))
                            .add(((IntVector) (qb.mul(ShortVector.fromArray(SHORTS_N, xq, xg + 64 + p))).convertShape(VectorOperators.S2I, I, 0)).mul(w.get(AbstractWeightTensor.BYTE, is + 4)))
                            .add(isum);
                }
            }
            float dd = xd[b] * fp16(w, off + 208);
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, dd), acc);
            // the 32 offset: sum_i sc_i * bsum_i, N scales a load
            IntVector corr = IntVector.zero(I);
            for (int i = 0; i < 16; i += N) {
                ByteVector scs = ByteVector.fromMemorySegment(BYTES_N, w, off + 192 + i, LE);
                corr = corr.add(((IntVector) scs.convertShape(VectorOperators.B2I, I, 0)).mul(IntVector.fromArray(I, bsums, 16 * b + i)));
            }
            corrAcc = ((FloatVector) corr.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, 32 * dd), corrAcc);
        }
        FloatVector v = acc.sub(corrAcc); // KernelSpecies.sum, written out (see the class comment)
        if (L >= 16) v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }
}
