package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.VectorKernels.F;
import static dev.phiedge.runtime.tensor.VectorKernels.I;
import static dev.phiedge.runtime.tensor.VectorKernels.BL;
import static dev.phiedge.runtime.tensor.VectorKernels.L;
import static dev.phiedge.runtime.tensor.VectorKernels.N;
import static dev.phiedge.runtime.tensor.VectorKernels.fp16;
import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * ggml-style integer dot products of one weight row against {@link Q8Activations}, on 8 or 16 float
 * lanes (AVX2, AVX-512; 4 lanes, and Q8_0/Q4_0 on 8, go to {@link IntKernels128}): quants widen to N = L
 * shorts, multiplied by the activations' quants (kept as shorts), widened to L ints and summed
 * exactly; each block's integer sums become floats once and are scaled by {@code d_w * d_x} (ggml's
 * vec_dot_q*_q8_*). Every conversion keeps the lane count (part 0), which C2 intrinsifies.
 * Results equal {@code dot.<type>} of quant-vectors (ggml's own vec_dot) up to float summation order.
 *
 * <p>C2 and these kernels: a kernel method whose Vector API calls pass C2's NodeCountInliningCutoff
 * while it is parsed gets its later calls to small methods of ours (a lane sum, a widening) left as
 * real calls, and every vector passed to one is boxed on the heap: the kernel then allocates per row
 * and runs 2-5x slower (which kernels it hit changed from one JVM run to the next). The Vector API's
 * own methods are force-inlined even then. So each kernel is one method of Vector API calls, with no
 * vector-valued helper of ours (loads, widenings and the lane sum of {@link VectorKernels#sum} are
 * written out; only scalar helpers such as {@link #scales} are called), and DecodeKernelAllocationTest
 * checks that a compiled decode product allocates nothing. (Written out, Q4_0's kernel also got
 * faster: 11.9 GB/s on 8192 columns against 10.1 with helpers.)
 */
final class IntKernels {
    private IntKernels() {}

    private static final java.nio.ByteOrder LE = LITTLE_ENDIAN;
    /** N shorts: the quants of one byte load. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * N));

    /**
     * Whether C2 fully unrolls the K-quants' sub-block loops, which it does only with
     * {@code -XX:LoopUnrollLimit=300} or more (200 unrolls Q4_K's but not Q6_K's; the default, 60, is
     * far below these loop bodies; unrolling by hand instead passes C2's inlining node limit and boxes
     * vectors). KernelSpeed 3072 x 8192, 1
     * thread, default / 400: Q4_K 8.6 / 10.5 GB/s, Q5_K 5.5 / 7.0, Q6_K 6.3 / 10.9 (Q6_K's float
     * kernel 6.5 either way, so decoding takes Q6_K's integer kernel only when this is true).
     */
    static final boolean LOOPS_UNROLLED = loopUnrollLimit() >= 300;

    private static long loopUnrollLimit() {
        try {
            var bean = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return Long.parseLong(bean.getVMOption("LoopUnrollLimit").getValue());
        } catch (RuntimeException | LinkageError e) { // not HotSpot, or no jdk.management
            return 0;
        }
    }

    // ---------------------------------------------------------------- Q8_0 and Q4_0 x Q8_0

    static float dotQ8_0(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (L <= 8) return IntKernels128.dotQ8_0(w, off, blocks, xq, xd);
        // 16 lanes: a block is two loads of 16; two products summed as shorts (|q x| <= 128 * 127 each)
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2, off += 68) {
            int xo = 32 * b;
            IntVector s0 = ((IntVector) (((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 2, LE).convertShape(VectorOperators.B2S, S, 0)).mul(ShortVector.fromArray(S, xq, xo)).add(((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 18, LE).convertShape(VectorOperators.B2S, S, 0)).mul(ShortVector.fromArray(S, xq, xo + 16)))).convertShape(VectorOperators.S2I, I, 0));
            IntVector s1 = ((IntVector) (((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 36, LE).convertShape(VectorOperators.B2S, S, 0)).mul(ShortVector.fromArray(S, xq, xo + 32)).add(((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 52, LE).convertShape(VectorOperators.B2S, S, 0)).mul(ShortVector.fromArray(S, xq, xo + 48)))).convertShape(VectorOperators.S2I, I, 0));
            a0 = ((FloatVector) s0.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), a0);
            a1 = ((FloatVector) s1.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off + 34) * xd[b + 1]), a1);
        }
        if (b < blocks) {
            int xo = 32 * b;
            IntVector s0 = ((IntVector) (((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 2, LE).convertShape(VectorOperators.B2S, S, 0)).mul(ShortVector.fromArray(S, xq, xo)).add(((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 18, LE).convertShape(VectorOperators.B2S, S, 0)).mul(ShortVector.fromArray(S, xq, xo + 16)))).convertShape(VectorOperators.S2I, I, 0));
            a0 = ((FloatVector) s0.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), a0);
        }
        FloatVector v = a0.add(a1); // VectorKernels.sum, written out (see the class comment)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /**
     * vec_dot_q4_0_q8_0 on 16 lanes: a block's 16 bytes zero-extended to shorts, low nibbles weights
     * 0..15 and high nibbles 16..31, each minus 8, two products a short lane (8 * 127 each: fits). Two
     * blocks per iteration; one block per iteration (or two rows at once) was measured at about half
     * the speed.
     */
    static float dotQ4_0(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (L <= 8) return IntKernels128.dotQ4_0(w, off, blocks, xq, xd);
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2, off += 36) {
            int xo = 32 * b;
            ShortVector q0 = ((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0)), q1 = ((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 20, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0));
            ShortVector s0 = q0.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(S, xq, xo))
                    .add(q0.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(S, xq, xo + 16)));
            ShortVector s1 = q1.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(S, xq, xo + 32))
                    .add(q1.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(S, xq, xo + 48)));
            a0 = ((FloatVector) (((IntVector) s0.convertShape(VectorOperators.S2I, I, 0))).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), a0);
            a1 = ((FloatVector) (((IntVector) s1.convertShape(VectorOperators.S2I, I, 0))).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off + 18) * xd[b + 1]), a1);
        }
        if (b < blocks) {
            int xo = 32 * b;
            ShortVector q0 = ((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0));
            ShortVector s0 = q0.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(S, xq, xo))
                    .add(q0.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(S, xq, xo + 16)));
            a0 = ((FloatVector) (((IntVector) s0.convertShape(VectorOperators.S2I, I, 0))).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), a0);
        }
        FloatVector v = a0.add(a1); // VectorKernels.sum, written out (see the class comment)
        v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    // ---------------------------------------------------------------- K-quants x Q8_K

    /** The 8 six-bit scales of a Q4_K/Q5_K super-block, byte j = sub-block j (ggml's utmp unpacking). */
    static long scales(MemorySegment w, long sc) {
        int u0 = w.get(AbstractWeightTensor.LE_INT, sc);
        int u2 = w.get(AbstractWeightTensor.LE_INT, sc + 8);
        int lo = u0 & 0x3f3f3f3f;
        int hi = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
        return (lo & 0xffffffffL) | ((long) hi << 32);
    }

    /** sum_j m_j * (the sum of x's quants in sub-block j), for the 8 mins packed in {@code mn}. */
    static int minsTimesSums(long mn, int[] bsums32, int k) {
        return (int) (mn & 0xFF) * bsums32[k] + (int) ((mn >>> 8) & 0xFF) * bsums32[k + 1]
                + (int) ((mn >>> 16) & 0xFF) * bsums32[k + 2] + (int) ((mn >>> 24) & 0xFF) * bsums32[k + 3]
                + (int) ((mn >>> 32) & 0xFF) * bsums32[k + 4] + (int) ((mn >>> 40) & 0xFF) * bsums32[k + 5]
                + (int) ((mn >>> 48) & 0xFF) * bsums32[k + 6] + (int) (mn >>> 56) * bsums32[k + 7];
    }

    /** The 8 six-bit mins, byte j = sub-block j. */
    static long mins(MemorySegment w, long sc) {
        int u1 = w.get(AbstractWeightTensor.LE_INT, sc + 4);
        int u2 = w.get(AbstractWeightTensor.LE_INT, sc + 8);
        int lo = u1 & 0x3f3f3f3f;
        int hi = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
        return (lo & 0xffffffffL) | ((long) hi << 32);
    }

    /**
     * vec_dot_q5_K_q8_K: as {@link #dotQ4K} with the fifth bit of weight l of sub-block j at bit j of
     * {@code qh[l]}; |q x| <= 31 * 128, so two products still fit a short. The 2N {@code qh} bytes of
     * a step are loaded once and serve all four sub-block pairs (the inner loop over c), which keeps the
     * loop body small enough for C2 to inline every Vector API call in it (the body per c with its own
     * {@code qh} loads passed C2's NodeCountInliningCutoff, boxed vectors and ran at 2 GB/s).
     */
    static float dotQ5K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums32) {
        if (L == 4) return IntKernels128.dotQ5K(w, off, blocks, xq, xd, bsums32);
        FloatVector acc = FloatVector.zero(F);
        float minSum = 0f;
        for (int b = 0; b < blocks; b++, off += 176) {
            long sc = scales(w, off + 4);
            IntVector isum = IntVector.zero(I);
            for (int p = 0; p < 32; p += N) {
                ShortVector h = ((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 16 + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0));
                for (int c = 0; c < 4; c++) { // sub-blocks 2c (low nibbles, qh bit 2c) and 2c + 1 (high, bit 2c + 1)
                    int xo = 256 * b + 64 * c + p;
                    ShortVector q = ((ShortVector) ByteVector.fromMemorySegment(BL, w, off + 48 + 32 * c + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0));
                    ShortVector g = h.lanewise(VectorOperators.LSHR, 2 * c);
                    ShortVector lo = q.and((short) 0x0F).or(g.and((short) 1).lanewise(VectorOperators.LSHL, 4)).mul(ShortVector.fromArray(S, xq, xo));
                    ShortVector hi = q.lanewise(VectorOperators.LSHR, 4).or(g.and((short) 2).lanewise(VectorOperators.LSHL, 3)).mul(ShortVector.fromArray(S, xq, xo + 32));
                    isum = ((IntVector) lo.convertShape(VectorOperators.S2I, I, 0)).mul((int) ((sc >>> (16 * c)) & 0xFF)).add(((IntVector) hi.convertShape(VectorOperators.S2I, I, 0)).mul((int) ((sc >>> (16 * c + 8)) & 0xFF))).add(isum);
                }
            }
            float dx = xd[b];
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, dx * fp16(w, off)), acc);
            minSum += dx * fp16(w, off + 2) * minsTimesSums(mins(w, off + 4), bsums32, 8 * b);
        }
        FloatVector v = acc; // VectorKernels.sum, written out (see the class comment)
        if (L >= 16) v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0) - minSum;
    }

    /**
     * vec_dot_q4_K_q8_K: per super-block, {@code d_x*d * sum_j sc_j * (q . x)_j} in
     * integers, minus {@code d_x*dmin * sum_j m_j * bsum_j} (the bsums of Q8_K make the mins cheap).
     * Per lane at most 8 sub-blocks * 63 * (32/L) * 31 * 128: fits an int.
     */
    static float dotQ4K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums32) {
        if (L == 4) return IntKernels128.dotQ4K(w, off, blocks, xq, xd, bsums32);
        FloatVector acc = FloatVector.zero(F);
        float minSum = 0f;
        for (int b = 0; b < blocks; b++, off += 144) {
            long sc = scales(w, off + 4);
            IntVector isum = IntVector.zero(I);
            for (int c = 0; c < 4; c++) { // sub-blocks 2c (low nibbles) and 2c + 1 (high) share 32 bytes
                int sLo = (int) ((sc >>> (16 * c)) & 0xFF), sHi = (int) ((sc >>> (16 * c + 8)) & 0xFF);
                long qs = off + 16 + 32 * c;
                int xo = 256 * b + 64 * c;
                for (int p = 0; p < 32; p += 2 * N) {
                    ShortVector q0 = ((ShortVector) ByteVector.fromMemorySegment(BL, w, qs + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0));
                    ShortVector q1 = ((ShortVector) ByteVector.fromMemorySegment(BL, w, qs + p + N, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0));
                    ShortVector lo = q0.and((short) 0x0F).mul(ShortVector.fromArray(S, xq, xo + p))
                            .add(q1.and((short) 0x0F).mul(ShortVector.fromArray(S, xq, xo + p + N)));
                    ShortVector hi = q0.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(S, xq, xo + 32 + p))
                            .add(q1.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(S, xq, xo + 32 + p + N)));
                    isum = ((IntVector) lo.convertShape(VectorOperators.S2I, I, 0)).mul(sLo).add(((IntVector) hi.convertShape(VectorOperators.S2I, I, 0)).mul(sHi)).add(isum);
                }
            }
            float dx = xd[b];
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, dx * fp16(w, off)), acc);
            minSum += dx * fp16(w, off + 2) * minsTimesSums(mins(w, off + 4), bsums32, 8 * b);
        }
        FloatVector v = acc; // VectorKernels.sum, written out (see the class comment)
        if (L >= 16) v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0) - minSum;
    }

    /**
     * vec_dot_q6_K_q8_K: quants 0..63 times x, in integers per 16 weights times their int8 scale,
     * minus {@code 32 * sum_i sc_i * bsum_i}; scaled by {@code d_x * d} per super-block. Chunks of N
     * (8 or 16) weights never straddle a 16-weight scale group.
     */
    static float dotQ6K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums) {
        if (L == 4) return IntKernels128.dotQ6K(w, off, blocks, xq, xd, bsums);
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
                    ShortVector q = ((ShortVector) ByteVector.fromMemorySegment(BL, w, ql + p, LE).convertShape(VectorOperators.B2S, S, 0));
                    ShortVector h = ((ShortVector) ByteVector.fromMemorySegment(BL, w, qh + p, LE).convertShape(VectorOperators.B2S, S, 0)).lanewise(VectorOperators.LSHR, 2 * part);
                    ShortVector qa = q.and((short) 0x0F).or(h.and((short) 3).lanewise(VectorOperators.LSHL, 4));
                    ShortVector qb = q.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F).or(h.and((short) 0x30));
                    long is = sc + p / 16; // N (8 or 16) weights never straddle a 16-weight scale group
                    isum = ((IntVector) (qa.mul(ShortVector.fromArray(S, xq, xg + p))).convertShape(VectorOperators.S2I, I, 0)).mul(w.get(AbstractWeightTensor.BYTE, is))
                            .add(((IntVector) (qb.mul(ShortVector.fromArray(S, xq, xg + 64 + p))).convertShape(VectorOperators.S2I, I, 0)).mul(w.get(AbstractWeightTensor.BYTE, is + 4)))
                            .add(isum);
                }
            }
            float dd = xd[b] * fp16(w, off + 208);
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, dd), acc);
            // the 32 offset: sum_i sc_i * bsum_i, N scales a load
            IntVector corr = IntVector.zero(I);
            for (int i = 0; i < 16; i += N) {
                ByteVector scs = ByteVector.fromMemorySegment(BL, w, off + 192 + i, LE);
                corr = corr.add(((IntVector) scs.convertShape(VectorOperators.B2I, I, 0)).mul(IntVector.fromArray(I, bsums, 16 * b + i)));
            }
            corrAcc = ((FloatVector) corr.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, 32 * dd), corrAcc);
        }
        FloatVector v = acc.sub(corrAcc); // VectorKernels.sum, written out (see the class comment)
        if (L >= 16) v = v.add(v.slice(8));
        v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }
}
