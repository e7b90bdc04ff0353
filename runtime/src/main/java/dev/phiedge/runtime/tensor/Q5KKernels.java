package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.KernelSpecies.BYTES_2L;
import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.I;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;
import static dev.phiedge.runtime.tensor.KernelSpecies.LE;
import static dev.phiedge.runtime.tensor.KernelSpecies.LONGS_HALF_L;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_2L;
import static dev.phiedge.runtime.tensor.KernelSpecies.TWO;

/**
 * The vector kernels of Q5_K weights (layout: see {@link Q5KTensor}, ggml's {@code block_q5_K}: 256
 * weights in 176 bytes, Q4_K's scales, mins and nibbles plus a fifth bit a weight in {@code qh}). Its
 * own is the integer kernel {@link #dotQ8} against Q8_K activations ({@link Q8Activations}), ggml's
 * vec_dot_q5_K_q8_K, the same code on 4, 8 and 16 lanes; the float kernel {@link #dot} and the
 * dequantization ({@link Q4KKernels#dequantize}) are Q4_K's,
 * given Q5_K's layout ({@link Q4KKernels} says how). Each equals its scalar ground truth in
 * {@link Q5KTensor} up to float summation order. Widths and rules: {@link KernelSpecies}.
 */
final class Q5KKernels {
    private Q5KKernels() {}

    /** Q5_K: 176-byte super-blocks of 256 (see {@link Q5KTensor}); the high bits are at byte 16. */
    static float dot(MemorySegment w, long off, int blocks, float[] x, int xo) {
        return Q4KKernels.dotQ4KOrQ5K(w, off, blocks, x, xo, 176, 48, true);
    }

    /**
     * vec_dot_q5_K_q8_K: as {@link Q4KKernels#dotQ8} with the fifth bit of weight l of sub-block j at
     * bit j of {@code qh[l]}; |q x| <= 31 * 128, so two products still fit a short. The 2L {@code qh}
     * bytes of a step are loaded once and serve all four sub-block pairs (the inner loop over c), which
     * keeps the loop body small enough for C2 to inline every Vector API call in it (a body per c with
     * its own {@code qh} loads passes C2's NodeCountInliningCutoff and boxes vectors).
     */
    static float dotQ8(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums32, int[] minsOrderSums, int blockStep) {
        FloatVector acc = FloatVector.zero(F);
        // the mins term (see Q4KKernels.dotQ8), accumulated beside acc
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
            FloatVector dmin = FloatVector.broadcast(F, dx * Float.float16ToFloat(w.get(AbstractWeightTensor.LE_SHORT, o + 2)));
            minAcc = ((FloatVector) m.mul(IntVector.fromArray(I, minsOrderSums, 8 * b)).convertShape(VectorOperators.I2F, F, 0)).fma(dmin, minAcc);
            if (TWO) { // 4 lanes hold m0, m4, m1, m5: the same shifts plus 16 give m2, m6, m3, m7
                IntVector m2 = LongVector.broadcast(LONGS_HALF_L, mn).reinterpretAsInts().lanewise(VectorOperators.LSHR, minsShift.add(16)).and(minsMask);
                minAcc = ((FloatVector) m2.mul(IntVector.fromArray(I, minsOrderSums, 8 * b + 4)).convertShape(VectorOperators.I2F, F, 0)).fma(dmin, minAcc);
            }
        }
        FloatVector v = acc.sub(minAcc); // KernelSpecies.sum, written out (see KernelSpecies)
        if (L >= 16) v = v.add(v.slice(8));
        if (L >= 8) v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }
}
