package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.VectorKernels.F;
import static dev.phiedge.runtime.tensor.VectorKernels.I;
import static dev.phiedge.runtime.tensor.VectorKernels.L;
import static dev.phiedge.runtime.tensor.VectorKernels.S;
import static dev.phiedge.runtime.tensor.VectorKernels.BL;
import static dev.phiedge.runtime.tensor.VectorKernels.fp16;
import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * ggml-style integer dot products of one weight row against {@link Q8Activations}: the weights' quants
 * are widened to L shorts, multiplied by the activations' quants (kept as shorts), widened to L ints and
 * summed exactly; each block's integer sums become floats once and are scaled by {@code d_w * d_x}
 * (ggml's vec_dot_q*_q8_*). Every conversion keeps the lane count (part 0), which C2 intrinsifies.
 * Results equal {@code dot.<type>} of quant-vectors (ggml's own vec_dot) up to float summation order.
 */
final class IntKernels {
    private IntKernels() {}

    private static final java.nio.ByteOrder LE = LITTLE_ENDIAN;

    // ---------------------------------------------------------------- Q8_0 and Q4_0 x Q8_0

    static float dotQ8_0(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2, off += 68) {
            a0 = ((FloatVector) q8_0Block(w, off + 2, xq, 32 * b).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), a0);
            a1 = ((FloatVector) q8_0Block(w, off + 36, xq, 32 * b + 32).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off + 34) * xd[b + 1]), a1);
        }
        if (b < blocks) a0 = ((FloatVector) q8_0Block(w, off + 2, xq, 32 * b).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), a0);
        return VectorKernels.sum(a0.add(a1));
    }

    private static IntVector q8_0Block(MemorySegment w, long qs, short[] xq, int xo) {
        IntVector s = ((IntVector) ((ShortVector) ByteVector.fromMemorySegment(BL, w, qs, LE).convertShape(VectorOperators.B2S, S, 0)).mul(ShortVector.fromArray(S, xq, xo)).convertShape(VectorOperators.S2I, I, 0));
        for (int p = L; p < 32; p += L) {
            s = s.add(((IntVector) ((ShortVector) ByteVector.fromMemorySegment(BL, w, qs + p, LE).convertShape(VectorOperators.B2S, S, 0)).mul(ShortVector.fromArray(S, xq, xo + p)).convertShape(VectorOperators.S2I, I, 0)));
        }
        return s;
    }

    static float dotQ4_0(MemorySegment w, long off, int blocks, short[] xq, float[] xd) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2, off += 36) {
            a0 = ((FloatVector) q4_0Block(w, off + 2, xq, 32 * b).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), a0);
            a1 = ((FloatVector) q4_0Block(w, off + 20, xq, 32 * b + 32).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off + 18) * xd[b + 1]), a1);
        }
        if (b < blocks) a0 = ((FloatVector) q4_0Block(w, off + 2, xq, 32 * b).convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, fp16(w, off) * xd[b]), a0);
        return VectorKernels.sum(a0.add(a1));
    }

    /** Low nibbles are quants 0..15, high nibbles 16..31; each minus 8. |sum of 2 products| <= 2032. */
    private static IntVector q4_0Block(MemorySegment w, long qs, short[] xq, int xo) {
        IntVector s = q4_0Part(w, qs, xq, xo);
        for (int p = L; p < 16; p += L) s = s.add(q4_0Part(w, qs + p, xq, xo + p));
        return s;
    }

    private static IntVector q4_0Part(MemorySegment w, long qs, short[] xq, int xo) {
        ShortVector q = ((ShortVector) ByteVector.fromMemorySegment(BL, w, qs, LE).convertShape(VectorOperators.B2S, S, 0));
        ShortVector lo = q.and((short) 0x0F).sub((short) 8);
        ShortVector hi = q.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F).sub((short) 8);
        return ((IntVector) lo.mul(ShortVector.fromArray(S, xq, xo)).add(hi.mul(ShortVector.fromArray(S, xq, xo + 16))).convertShape(VectorOperators.S2I, I, 0));
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

    /** The 8 six-bit mins, byte j = sub-block j. */
    static long mins(MemorySegment w, long sc) {
        int u1 = w.get(AbstractWeightTensor.LE_INT, sc + 4);
        int u2 = w.get(AbstractWeightTensor.LE_INT, sc + 8);
        int lo = u1 & 0x3f3f3f3f;
        int hi = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
        return (lo & 0xffffffffL) | ((long) hi << 32);
    }

    static float dotQ4K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums) {
        return dotQ4KOrQ5K(w, off, blocks, xq, xd, bsums, 144, 16, false);
    }

    static float dotQ5K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums) {
        return dotQ4KOrQ5K(w, off, blocks, xq, xd, bsums, 176, 48, true);
    }

    /**
     * vec_dot_q4_K_q8_K / vec_dot_q5_K_q8_K: per super-block, {@code d_x*d * sum_j sc_j * (q . x)_j} in
     * integers, minus {@code d_x*dmin * sum_j m_j * bsum_j} (the bsums of Q8_K make the mins cheap).
     * Per lane at most 8 sub-blocks * 63 * (32/L) * 31 * 128: fits an int.
     */
    private static float dotQ4KOrQ5K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums,
                                     int blockBytes, int qsOffset, boolean high) {
        FloatVector acc = FloatVector.zero(F);
        float minSum = 0f;
        for (int b = 0; b < blocks; b++, off += blockBytes) {
            long sc = scales(w, off + 4);
            long mn = mins(w, off + 4);
            int summ = 0;
            for (int j = 0; j < 8; j++) {
                summ += (int) ((mn >>> (8 * j)) & 0xFF) * (bsums[16 * b + 2 * j] + bsums[16 * b + 2 * j + 1]);
            }
            IntVector isum = IntVector.zero(I);
            for (int j = 0; j < 8; j++) {
                int scale = (int) ((sc >>> (8 * j)) & 0xFF);
                if (high) {
                    isum = q5Sub(w, off, qsOffset, j, xq, 256 * b + 32 * j).mul(scale).add(isum);
                } else {
                    isum = q4Sub(w, off + qsOffset + 32 * (j >> 1), 4 * (j & 1), xq, 256 * b + 32 * j).mul(scale).add(isum);
                }
            }
            float dx = xd[b];
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, dx * fp16(w, off)), acc);
            minSum += dx * fp16(w, off + 2) * summ;
        }
        return VectorKernels.sum(acc) - minSum;
    }

    private static IntVector q4Sub(MemorySegment w, long qs, int shift, short[] xq, int xo) {
        IntVector s = q4Part(w, qs, shift, xq, xo);
        for (int p = L; p < 32; p += L) s = s.add(q4Part(w, qs + p, shift, xq, xo + p));
        return s;
    }

    private static IntVector q4Part(MemorySegment w, long qs, int shift, short[] xq, int xo) {
        ShortVector q = ((ShortVector) ByteVector.fromMemorySegment(BL, w, qs, LE).convertShape(VectorOperators.B2S, S, 0)).lanewise(VectorOperators.LSHR, shift).and((short) 0x0F);
        return ((IntVector) q.mul(ShortVector.fromArray(S, xq, xo)).convertShape(VectorOperators.S2I, I, 0));
    }

    private static IntVector q5Sub(MemorySegment w, long off, int qsOffset, int j, short[] xq, int xo) {
        long qs = off + qsOffset + 32 * (j >> 1);
        int shift = 4 * (j & 1);
        IntVector s = q5Part(w, qs, off + 16, shift, j, xq, xo);
        for (int p = L; p < 32; p += L) s = s.add(q5Part(w, qs + p, off + 16 + p, shift, j, xq, xo + p));
        return s;
    }

    private static IntVector q5Part(MemorySegment w, long qs, long qh, int shift, int j, short[] xq, int xo) {
        ShortVector q = ((ShortVector) ByteVector.fromMemorySegment(BL, w, qs, LE).convertShape(VectorOperators.B2S, S, 0)).lanewise(VectorOperators.LSHR, shift).and((short) 0x0F)
                .or(((ShortVector) ByteVector.fromMemorySegment(BL, w, qh, LE).convertShape(VectorOperators.B2S, S, 0)).lanewise(VectorOperators.LSHR, j).and((short) 1).lanewise(VectorOperators.LSHL, 4));
        return ((IntVector) q.mul(ShortVector.fromArray(S, xq, xo)).convertShape(VectorOperators.S2I, I, 0));
    }

    /**
     * vec_dot_q6_K_q8_K: quants 0..63 times x, in integers per 16 weights times their int8 scale,
     * minus {@code 32 * sum_i sc_i * bsum_i}; scaled by {@code d_x * d} per super-block. Chunks of L
     * (8 or 16) weights never straddle a 16-weight scale group.
     */
    static float dotQ6K(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums) {
        FloatVector acc = FloatVector.zero(F);
        float corrSum = 0f;
        for (int b = 0; b < blocks; b++, off += 210) {
            int corr = 0;
            for (int i = 0; i < 16; i++) corr += w.get(AbstractWeightTensor.BYTE, off + 192 + i) * bsums[16 * b + i];
            IntVector isum = IntVector.zero(I);
            for (int g = 0; g < 4; g++) {
                int n = g >> 1;
                int part = g & 1;
                long ql = off + 64 * n + 32 * part;
                long qh = off + 128 + 32 * n;
                long sc = off + 192 + 8 * n + 2 * part;
                int xg = 256 * b + 128 * n + 32 * part;
                for (int p = 0; p < 32; p += L) {
                    isum = isum.add(q6Part(w, ql + p, qh + p, 2 * part, sc + p / 16, xq, xg + p));
                }
            }
            float dd = xd[b] * fp16(w, off + 208);
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, dd), acc);
            corrSum += dd * (32 * corr);
        }
        return VectorKernels.sum(acc) - corrSum;
    }

    /**
     * L weights of group g = 2n + part (half n, {@code ql[32*part ..]} of that half): weights l (low
     * nibble, qh bits {@code shift..shift+1}, scale {@code sc[is]}) and l + 64 (high nibble, qh bits
     * {@code shift+4..}, scale {@code sc[is+4]}).
     */
    private static IntVector q6Part(MemorySegment w, long ql, long qh, int shift, long is, short[] xq, int xo) {
        ShortVector q = ((ShortVector) ByteVector.fromMemorySegment(BL, w, ql, LE).convertShape(VectorOperators.B2S, S, 0));
        ShortVector h = ((ShortVector) ByteVector.fromMemorySegment(BL, w, qh, LE).convertShape(VectorOperators.B2S, S, 0)).lanewise(VectorOperators.LSHR, shift);
        ShortVector qa = q.and((short) 0x0F).or(h.and((short) 3).lanewise(VectorOperators.LSHL, 4));
        ShortVector qb = q.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F).or(h.and((short) 0x30));
        return ((IntVector) qa.mul(ShortVector.fromArray(S, xq, xo)).convertShape(VectorOperators.S2I, I, 0)).mul(w.get(AbstractWeightTensor.BYTE, is))
                .add(((IntVector) qb.mul(ShortVector.fromArray(S, xq, xo + 64)).convertShape(VectorOperators.S2I, I, 0)).mul(w.get(AbstractWeightTensor.BYTE, is + 4)));
    }
}
