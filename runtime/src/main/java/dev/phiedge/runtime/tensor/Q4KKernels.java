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
import static dev.phiedge.runtime.tensor.KernelSpecies.N;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_2L;
import static dev.phiedge.runtime.tensor.KernelSpecies.TWO;
import static dev.phiedge.runtime.tensor.KernelSpecies.bytes;
import static dev.phiedge.runtime.tensor.KernelSpecies.fp16;
import static dev.phiedge.runtime.tensor.KernelSpecies.sum;
import static dev.phiedge.runtime.tensor.KernelSpecies.toFloat;
import static dev.phiedge.runtime.tensor.KernelSpecies.toFloatHi;

/**
 * The vector kernels of Q4_K weights (layout: see {@link Q4KTensor}, ggml's {@code block_q4_K}: 256
 * weights in 144 bytes), and those Q5_K shares with it. Q5_K ({@link Q5KTensor}) has Q4_K's scale
 * layout (8 six-bit scales and 8 six-bit mins in 12 bytes) and nibble order, plus a fifth bit a weight
 * in its {@code qh}; the shared kernels take the format as {@code blockBytes}, {@code qsOffset} and
 * whether there is a fifth bit (144, 16, false for Q4_K; 176, 48, true for Q5_K). Each takes one row
 * from byte {@code off} of {@code w}, its {@code blocks} super-blocks:
 * <ul>
 *   <li>{@link #dot}: against float activations, by {@link #dotQ4KOrQ5K} (Q5_K's:
 *       {@link Q5KKernels#dot}).</li>
 *   <li>{@link #dotQ8}: against Q8_K activations ({@link Q8Activations}), ggml's vec_dot_q4_K_q8_K,
 *       the same code on 4, 8 and 16 lanes. Q5_K's is {@link Q5KKernels#dotQ8}.</li>
 *   <li>{@link #dequantize}: a Q4_K or Q5_K row as floats, with the scalar kernels' arithmetic (no
 *       FMA).</li>
 * </ul>
 * The integer kernels work a full register at a time: the packed bytes are
 * zero-extended to 2L shorts ({@link KernelSpecies#SHORTS_2L}) first, one widening per 32 bytes, and
 * split there (low nibble: a mask; high nibble: an arithmetic shift, exact on zero-extended values;
 * Q5_K's fifth bits from its widened {@code qh}). Each kernel equals its scalar ground truth in
 * {@link Q4KTensor} or {@link Q5KTensor} up to float summation order, and the dequantization bit for
 * bit. Widths and rules: {@link KernelSpecies}.
 */
final class Q4KKernels {
    private Q4KKernels() {}

    /** Q4_K: 144-byte super-blocks of 256 (see {@link Q4KTensor}). */
    static float dot(MemorySegment w, long off, int blocks, float[] x, int xo) {
        return dotQ4KOrQ5K(w, off, blocks, x, xo, 144, 16, false);
    }

    /**
     * Q4_K and Q5_K share scales, mins and nibble order. Sub-block {@code j} (32 weights) is the low
     * ({@code j} even) or high nibbles of {@code qs[32*(j/2) ..]}, plus for Q5_K bit {@code j} of
     * {@code qh[0..31]} as 16; weight = {@code q*d*sc - dmin*m}. One loop over the 8 sub-blocks keeps the
     * compiled body small (C2 stops inlining the Vector API, and boxes, past its node-count cutoff).
     */
    static float dotQ4KOrQ5K(MemorySegment w, long off, int blocks, float[] x, int xo,
                                     int blockBytes, int qsOffset, boolean high) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, off += blockBytes, xo += 256) {
            float d = fp16(w, off);
            float dmin = fp16(w, off + 2);
            for (int j = 0; j < 8; j++) {
                int sm = Q4KTensor.scaleMinK4(w, off + 4, j);
                FloatVector vd = FloatVector.broadcast(F, d * (sm & 0xFF));
                FloatVector vm = FloatVector.broadcast(F, -(dmin * (sm >>> 8)));
                long qs = off + qsOffset + 32 * (j >> 1);
                int shift = 4 * (j & 1);
                int xj = xo + 32 * j;
                for (int p = 0; p < 32; p += N) {
                    ByteVector q = bytes(w, qs + p).lanewise(VectorOperators.LSHR, shift).and((byte) 0x0F);
                    if (high) {
                        q = q.or(bytes(w, off + 16 + p).lanewise(VectorOperators.LSHR, j).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                    }
                    a0 = toFloat(q).fma(vd, vm).fma(FloatVector.fromArray(F, x, xj + p), a0);
                    if (TWO) a0 = toFloatHi(q).fma(vd, vm).fma(FloatVector.fromArray(F, x, xj + p + L), a0);
                }
                FloatVector t = a0; // alternate two accumulators between sub-blocks
                a0 = a1;
                a1 = t;
            }
        }
        return sum(a0.add(a1));
    }

    /**
     * vec_dot_q4_K_q8_K: per super-block, {@code d_x*d * sum_j sc_j * (q . x)_j} in
     * integers, minus {@code d_x*dmin * sum_j m_j * bsum_j} (the bsums of Q8_K make the mins cheap).
     * Per lane at most 8 sub-blocks * 63 * (32/L) * 31 * 128: fits an int.
     *
     * <p>The mins term (here and in {@link Q5KKernels#dotQ8}), {@code d_x * dmin * sum_j m_j
     * * bsum_j} per super-block, stays in the kernel's own vector shape: the 8 packed mins
     * (unpacked as ggml's utmp, a byte each in a long) broadcast as L / 2 longs are, read as ints, the
     * low and the high half in turn; shifted right per lane by 0, 0, 8, 8, 16, 16, 24, 24 and masked to
     * a byte (lanes 8-15 to 0), int lane 2k holds m_k and lane 2k + 1 m_(k+4), in the order of
     * {@link Q8Activations#minsOrderSums}; one multiply, one conversion and one FMA per super-block. On
     * 4 lanes the same shifts plus 16 give the other four mins: a second multiply and FMA.
     * Scalar work per super-block (byte extractions, scalar multiplies, moving scalars into vector
     * registers) costs more here than the vector work it feeds: keep it out of these kernels.
     *
     * <p>These two kernels (this and Q5_K's) are at C2's inlining node budget
     * (NodeCountInliningCutoff), where any call of ours may stay a call, around which every live vector
     * register is spilled. So they call no helper at all: the fp16 scales are read with {@code
     * Float.float16ToFloat} written out, and the scales and mins are unpacked in the kernel. And the
     * super-block loop's stride is a parameter, {@code blockStep}, always 1: this method, far too large to inline, is compiled on its own, where the
     * stride is not a constant, so C2 does not unroll the super-block loop (unrolled, it spills) while
     * it still unrolls the sub-block loops.
     */
    static float dotQ8(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums32, int[] minsOrderSums, int blockStep) {
        FloatVector acc = FloatVector.zero(F);
        // the mins term (see dotQ8), accumulated beside acc
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

    /** Q4_K / Q5_K: {@code d*sc * q - dmin*m} per sub-block, as dequantize_row_q4_K / q5_K. */
    static void dequantize(MemorySegment w, long off, int blocks, float[] out, int o, int blockBytes, int qsOffset, boolean high) {
        for (int b = 0; b < blocks; b++, off += blockBytes, o += 256) {
            float d = fp16(w, off);
            float dmin = fp16(w, off + 2);
            for (int j = 0; j < 8; j++) {
                int sm = Q4KTensor.scaleMinK4(w, off + 4, j);
                FloatVector vd = FloatVector.broadcast(F, d * (sm & 0xFF));
                FloatVector vm = FloatVector.broadcast(F, dmin * (sm >>> 8));
                long qs = off + qsOffset + 32 * (j >> 1);
                int shift = 4 * (j & 1);
                for (int p = 0; p < 32; p += N) {
                    ByteVector q = bytes(w, qs + p).lanewise(VectorOperators.LSHR, shift).and((byte) 0x0F);
                    if (high) {
                        q = q.or(bytes(w, off + 16 + p).lanewise(VectorOperators.LSHR, j).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                    }
                    toFloat(q).mul(vd).sub(vm).intoArray(out, o + 32 * j + p);
                    if (TWO) toFloatHi(q).mul(vd).sub(vm).intoArray(out, o + 32 * j + p + L);
                }
            }
        }
    }
}
