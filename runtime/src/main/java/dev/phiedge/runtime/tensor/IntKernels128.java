package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.KernelSpecies.BYTES_8;
import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.I;
import static dev.phiedge.runtime.tensor.KernelSpecies.INTS_4;
import static dev.phiedge.runtime.tensor.KernelSpecies.LE;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_8;
import static dev.phiedge.runtime.tensor.KernelSpecies.fp16;

/**
 * {@link IntKernels} on 128-bit short vectors: all types with 4 float lanes (ARM NEON, as on a
 * Raspberry Pi 4/5; x86 with {@code -XX:MaxVectorSize=16}), and Q8_0 and Q4_0 with 8 (AVX2). Quants
 * come 8 at a time (a 64-bit load) widened to 8 shorts, multiplied by the activations' quants and
 * summed as shorts while the sum fits, then widened to ints (4 ints as parts 0 and 1, or 8). Each
 * block's (or super-block's) integer sum is reduced to one exact int and scaled in scalar code; on 8
 * lanes Q8_0 and Q4_0 accumulate the 8 block sums in a float vector instead (one lane sum a row).
 *
 * <p>Every kernel is one method that calls only the Vector API and scalar helpers: C2 inlines the
 * Vector API's methods even past its NodeCountInliningCutoff, but not small methods of ours, and a
 * vector passed to or returned from a call that is not inlined is boxed on the heap, in some
 * compilation orders and not in others. On 4 lanes Q8_0's and Q4_0's blocks are methods of their own
 * that return an int (the faster form here): whether C2 inlines them or not, no vector crosses the
 * call. Layouts and arithmetic are ggml's vec_dot_*_q8_* (see {@link IntKernels} and each tensor
 * class); the rules are {@link IntKernels}'s (docs/kernels.md), the figures in docs/performance.md.
 */
final class IntKernels128 {
    private IntKernels128() {}

    /** vec_dot_q8_0_q8_0: per block of 32, two products a short lane (|q x| <= 128 * 127: fits). */
    static float dotQ8_0(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (I.length() == 8) { // 8 ints fill a float vector: accumulate in it, one lane sum a row
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < blocks; b++, off += 34) {
                long qs = off + 2;
                int xo = 32 * b;
                ShortVector s = ((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs, LE).convertShape(VectorOperators.B2S, SHORTS_8, 0))
                        .mul(ShortVector.fromArray(SHORTS_8, xq, xo))
                        .add(((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs + 8, LE).convertShape(VectorOperators.B2S, SHORTS_8, 0))
                                .mul(ShortVector.fromArray(SHORTS_8, xq, xo + 8)));
                ShortVector t = ((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs + 16, LE).convertShape(VectorOperators.B2S, SHORTS_8, 0))
                        .mul(ShortVector.fromArray(SHORTS_8, xq, xo + 16))
                        .add(((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs + 24, LE).convertShape(VectorOperators.B2S, SHORTS_8, 0))
                                .mul(ShortVector.fromArray(SHORTS_8, xq, xo + 24)));
                IntVector i = ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) t.convertShape(VectorOperators.S2I, I, 0));
                acc = ((FloatVector) i.convertShape(VectorOperators.I2F, F, 0))
                        .fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), acc);
            }
            acc = acc.add(acc.slice(4)); // KernelSpecies.sum written out: a vector argument could be boxed
            acc = acc.add(acc.slice(2));
            return acc.add(acc.slice(1)).lane(0);
        }
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += 34) sum += fp16(w, off) * xd[b] * q8_0Block(w, off + 2, xq, 32 * b);
        return sum;
    }

    /** One Q8_0 block's exact integer dot (an int crosses the call: nothing to box if not inlined). */
    private static int q8_0Block(MemorySegment w, long qs, short[] xq, int xo) {
        ShortVector s = ((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs, LE).convertShape(VectorOperators.B2S, SHORTS_8, 0))
                .mul(ShortVector.fromArray(SHORTS_8, xq, xo))
                .add(((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs + 8, LE).convertShape(VectorOperators.B2S, SHORTS_8, 0))
                        .mul(ShortVector.fromArray(SHORTS_8, xq, xo + 8)));
        ShortVector t = ((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs + 16, LE).convertShape(VectorOperators.B2S, SHORTS_8, 0))
                .mul(ShortVector.fromArray(SHORTS_8, xq, xo + 16))
                .add(((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs + 24, LE).convertShape(VectorOperators.B2S, SHORTS_8, 0))
                        .mul(ShortVector.fromArray(SHORTS_8, xq, xo + 24)));
        IntVector i = ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) t.convertShape(VectorOperators.S2I, I, 0));
        if (I.length() == 4) { // 8 shorts are two 4-int parts
            i = i.add((IntVector) s.convertShape(VectorOperators.S2I, I, 1)).add((IntVector) t.convertShape(VectorOperators.S2I, I, 1));
        }
        return i.reduceLanes(VectorOperators.ADD);
    }

    /**
     * vec_dot_q4_0_q8_0: bytes 0-7 and 8-15 of a block's 16, low nibbles weights 0-15, high nibbles
     * 16-31, each minus 8; four products a short lane (8 * 127 each: fits).
     */
    static float dotQ4_0(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        if (I.length() == 8) { // as dotQ8_0
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < blocks; b++, off += 18) {
                long qs = off + 2;
                int xo = 32 * b;
                ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0);
                ShortVector q1 = (ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs + 8, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0);
                ShortVector s = q0.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_8, xq, xo))
                        .add(q1.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_8, xq, xo + 8)))
                        .add(q0.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_8, xq, xo + 16)))
                        .add(q1.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_8, xq, xo + 24)));
                acc = ((FloatVector) ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0))
                        .fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), acc);
            }
            acc = acc.add(acc.slice(4)); // KernelSpecies.sum written out: a vector argument could be boxed
            acc = acc.add(acc.slice(2));
            return acc.add(acc.slice(1)).lane(0);
        }
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += 18) sum += fp16(w, off) * xd[b] * q4_0Block(w, off + 2, xq, 32 * b);
        return sum;
    }

    /** One Q4_0 block's exact integer dot (an int crosses the call: nothing to box if not inlined). */
    private static int q4_0Block(MemorySegment w, long qs, short[] xq, int xo) {
        ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0);
        ShortVector q1 = (ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs + 8, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0);
        ShortVector s = q0.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_8, xq, xo))
                .add(q1.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(SHORTS_8, xq, xo + 8)))
                .add(q0.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_8, xq, xo + 16)))
                .add(q1.lanewise(VectorOperators.LSHR, 4).sub((short) 8).mul(ShortVector.fromArray(SHORTS_8, xq, xo + 24)));
        IntVector i = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        if (I.length() == 4) i = i.add((IntVector) s.convertShape(VectorOperators.S2I, I, 1)); // two 4-int parts
        return i.reduceLanes(VectorOperators.ADD);
    }

    /**
     * vec_dot_q4_K_q8_K: sub-blocks 2c (low nibbles of {@code qs[32c ..]}) and 2c + 1 (high nibbles),
     * each summed as shorts over its 32 weights (4 * 15 * 128 a lane: fits), widened, times its 6-bit
     * scale; the mins through the activations' sums (bsums32).
     */
    static float dotQ4K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums32) {
        return dotQ4KOrQ5K(w, off, blocks, xq, xd, bsums32, 144, 16, false);
    }

    /**
     * vec_dot_q5_K_q8_K: as {@link #dotQ4K} with the fifth bit of weight l of sub-block j at bit j of
     * {@code qh[l]} (4 * 31 * 128 a short lane: fits).
     */
    static float dotQ5K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums32) {
        return dotQ4KOrQ5K(w, off, blocks, xq, xd, bsums32, 176, 48, true);
    }

    private static float dotQ4KOrQ5K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums32,
                                     int blockBytes, int qsOffset, boolean fifthBit) {
        float sum = 0f, minSum = 0f;
        for (int b = 0; b < blocks; b++, off += blockBytes) {
            long sc = IntKernels.scales(w, off + 4);
            IntVector isum = IntVector.zero(INTS_4);
            for (int c = 0; c < 4; c++) {
                long qs = off + qsOffset + 32 * c;
                int xo = 256 * b + 64 * c;
                ShortVector lo = ShortVector.zero(SHORTS_8), hi = ShortVector.zero(SHORTS_8);
                for (int p = 0; p < 32; p += 8) {
                    ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qs + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0);
                    ShortVector ql = q.and((short) 0x0F), qh = q.lanewise(VectorOperators.LSHR, 4);
                    if (fifthBit) { // Q5_K: bits 2c and 2c + 1 of qh[p ..], at 16
                        ShortVector h = ((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, off + 16 + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0))
                                .lanewise(VectorOperators.LSHR, 2 * c);
                        ql = ql.or(h.and((short) 1).lanewise(VectorOperators.LSHL, 4));
                        qh = qh.or(h.and((short) 2).lanewise(VectorOperators.LSHL, 3));
                    }
                    lo = ql.mul(ShortVector.fromArray(SHORTS_8, xq, xo + p)).add(lo);
                    hi = qh.mul(ShortVector.fromArray(SHORTS_8, xq, xo + 32 + p)).add(hi);
                }
                IntVector l = ((IntVector) lo.convertShape(VectorOperators.S2I, INTS_4, 0)).add((IntVector) lo.convertShape(VectorOperators.S2I, INTS_4, 1));
                IntVector h = ((IntVector) hi.convertShape(VectorOperators.S2I, INTS_4, 0)).add((IntVector) hi.convertShape(VectorOperators.S2I, INTS_4, 1));
                isum = l.mul((int) ((sc >>> (16 * c)) & 0xFF)).add(h.mul((int) ((sc >>> (16 * c + 8)) & 0xFF))).add(isum);
            }
            float dx = xd[b];
            sum += dx * fp16(w, off) * isum.reduceLanes(VectorOperators.ADD);
            minSum += dx * fp16(w, off + 2) * IntKernels.minsTimesSums(IntKernels.mins(w, off + 4), bsums32, 8 * b);
        }
        return sum - minSum;
    }

    /**
     * vec_dot_q6_K_q8_K: group g = 2n + part covers {@code ql[64n + 32part ..]} (weights l, low nibble,
     * {@code qh} bits 2part..2part+1, and l + 64, high nibble, bits 2part+4..), 16 weights a scale;
     * quants 0..63 times x summed exactly (two products a short lane: 2 * 63 * 128 fits), minus
     * {@code 32 * sum_i sc_i * bsum_i}, times {@code d_x * d}.
     */
    static float dotQ6K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++, off += 210) {
            IntVector isum = IntVector.zero(INTS_4);
            for (int g = 0; g < 4; g++) {
                int n = g >> 1, part = g & 1, shift = 2 * part;
                long ql = off + 64 * n + 32 * part;
                long qh = off + 128 + 32 * n;
                long sc = off + 192 + 8 * n + 2 * part;
                int xg = 256 * b + 128 * n + 32 * part;
                for (int p = 0; p < 32; p += 16) { // 16 weights: one scale each for l and l + 64
                    ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, ql + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0);
                    ShortVector q1 = (ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, ql + p + 8, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0);
                    ShortVector h0 = ((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qh + p, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0))
                            .lanewise(VectorOperators.LSHR, shift);
                    ShortVector h1 = ((ShortVector) ByteVector.fromMemorySegment(BYTES_8, w, qh + p + 8, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS_8, 0))
                            .lanewise(VectorOperators.LSHR, shift);
                    ShortVector a = q0.and((short) 0x0F).or(h0.and((short) 3).lanewise(VectorOperators.LSHL, 4)).mul(ShortVector.fromArray(SHORTS_8, xq, xg + p))
                            .add(q1.and((short) 0x0F).or(h1.and((short) 3).lanewise(VectorOperators.LSHL, 4)).mul(ShortVector.fromArray(SHORTS_8, xq, xg + p + 8)));
                    ShortVector c = q0.lanewise(VectorOperators.LSHR, 4).or(h0.and((short) 0x30)).mul(ShortVector.fromArray(SHORTS_8, xq, xg + 64 + p))
                            .add(q1.lanewise(VectorOperators.LSHR, 4).or(h1.and((short) 0x30)).mul(ShortVector.fromArray(SHORTS_8, xq, xg + 64 + p + 8)));
                    IntVector ia = ((IntVector) a.convertShape(VectorOperators.S2I, INTS_4, 0)).add((IntVector) a.convertShape(VectorOperators.S2I, INTS_4, 1));
                    IntVector ic = ((IntVector) c.convertShape(VectorOperators.S2I, INTS_4, 0)).add((IntVector) c.convertShape(VectorOperators.S2I, INTS_4, 1));
                    long is = sc + p / 16;
                    isum = ia.mul(w.get(AbstractWeightTensor.BYTE, is)).add(ic.mul(w.get(AbstractWeightTensor.BYTE, is + 4))).add(isum);
                }
            }
            int corr = 0; // the quants' offset of 32: sum_i sc_i * bsum_i
            for (int i = 0; i < 16; i++) corr += w.get(AbstractWeightTensor.BYTE, off + 192 + i) * bsums[16 * b + i];
            sum += xd[b] * fp16(w, off + 208) * (isum.reduceLanes(VectorOperators.ADD) - 32 * corr);
        }
        return sum;
    }
}
