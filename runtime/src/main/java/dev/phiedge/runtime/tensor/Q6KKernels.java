package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.KernelSpecies.BYTES_2L;
import static dev.phiedge.runtime.tensor.KernelSpecies.BYTES_N;
import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.I;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;
import static dev.phiedge.runtime.tensor.KernelSpecies.LE;
import static dev.phiedge.runtime.tensor.KernelSpecies.N;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_2L;
import static dev.phiedge.runtime.tensor.KernelSpecies.TWO;
import static dev.phiedge.runtime.tensor.KernelSpecies.bytes;
import static dev.phiedge.runtime.tensor.KernelSpecies.fp16;
import static dev.phiedge.runtime.tensor.KernelSpecies.sum;
import static dev.phiedge.runtime.tensor.KernelSpecies.toFloat;
import static dev.phiedge.runtime.tensor.KernelSpecies.toFloatHi;

/**
 * The vector kernels of Q6_K weights (layout: see {@link Q6KTensor}, ggml's {@code block_q6_K}: 256
 * weights in 210 bytes, low 4 bits in {@code ql}, high 2 bits in {@code qh}, 16 int8 scales, fp16
 * {@code d}). Each takes one row from byte {@code off} of {@code w}, its {@code blocks} super-blocks:
 * <ul>
 *   <li>{@link #dot}: against float activations (not used on 4 lanes: {@link Q6KTensor#dotRow}).</li>
 *   <li>{@link #dotQ8}: against Q8_K activations ({@link Q8Activations}), ggml's vec_dot_q6_K_q8_K, a
 *       super-block at a time by {@link #dotQ8SuperBlock}: the same code on 4, 8 and 16 lanes.</li>
 *   <li>{@link #dequantize}: the row as floats, with the scalar kernel's arithmetic (no FMA).</li>
 * </ul>
 * The integer kernel works a full register at a time: it unpacks the quants as bytes (nibbles and high
 * bits shifted on int lanes, which x86 shifts by an immediate, then masked), then widens them.
 * Decoding takes the integer kernel only where C2 unrolls its loops
 * ({@link KernelSpecies#LOOPS_UNROLLED}). Each kernel equals its scalar ground truth in
 * {@link Q6KTensor} up to float summation order, and the dequantization bit for bit. Widths and rules:
 * {@link KernelSpecies}.
 */
final class Q6KKernels {
    private Q6KKernels() {}

    /**
     * Q6_K: 210-byte super-blocks of 256 (see {@link Q6KTensor}). Not used where L = 4: its four
     * widenings a step pass C2's inlining node limit there, box vectors, and measured slower than the
     * scalar kernel (see {@link Q6KTensor#dotRow}). Each half {@code n} is done in two
     * groups: {@code ql[0..31]} (weights 0..31 and 64..95 of the half, qh bits 0-1 and 4-5, scales
     * 0-1 and 4-5) and {@code ql[32..63]} (weights 32..63 and 96..127, qh bits 2-3 and 6-7, scales 2-3
     * and 6-7). One loop over the four groups keeps the compiled body small: C2 stops inlining the
     * Vector API (and boxes vectors) past its node-count cutoff.
     */
    static float dot(MemorySegment w, long off, int blocks, float[] x, int xo) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, off += 210, xo += 256) {
            float d = fp16(w, off + 208);
            for (int g = 0; g < 4; g++) {
                int n = g >> 1;
                int part = g & 1;
                long ql = off + 64 * n + 32 * part;
                long qh = off + 128 + 32 * n;
                long sc = off + 192 + 8 * n + 2 * part;
                int shift = 2 * part;
                int xg = xo + 128 * n + 32 * part;
                for (int p = 0; p < 32; p += N) {
                    ByteVector q = bytes(w, ql + p);
                    ByteVector h = bytes(w, qh + p).lanewise(VectorOperators.LSHR, shift);
                    ByteVector qa = q.and((byte) 0x0F).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    ByteVector qb = q.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 0x30)).sub((byte) 32);
                    long is = sc + p / 16; // the scale of these 16 (or 8) weights
                    FloatVector da = FloatVector.broadcast(F, d * w.get(AbstractWeightTensor.BYTE, is));
                    FloatVector db = FloatVector.broadcast(F, d * w.get(AbstractWeightTensor.BYTE, is + 4));
                    a0 = toFloat(qa).mul(FloatVector.fromArray(F, x, xg + p)).fma(da, a0);
                    a1 = toFloat(qb).mul(FloatVector.fromArray(F, x, xg + 64 + p)).fma(db, a1);
                    if (TWO) {
                        a0 = toFloatHi(qa).mul(FloatVector.fromArray(F, x, xg + p + L)).fma(da, a0);
                        a1 = toFloatHi(qb).mul(FloatVector.fromArray(F, x, xg + 64 + p + L)).fma(db, a1);
                    }
                }
            }
        }
        return sum(a0.add(a1));
    }

    /**
     * vec_dot_q6_K_q8_K: quants 0..63 times x, in integers per 16 weights times their int8 scale,
     * minus {@code 32 * sum_i sc_i * bsum_i}; scaled by {@code d_x * d} per super-block
     * ({@link #dotQ8SuperBlock}). A chunk of 2L weights takes its scales from one broadcast int of four
     * scale bytes, shifted left per lane and back by 24 (sign-extending the byte): on 16 lanes the chunk
     * (32 weights) spans two scale groups, int lanes 0-7 (weights 0-15) taking the first scale and lanes
     * 8-15 the second; on 8 and 4 lanes (16 and 8 weights) every lane takes the first. Two broadcasts per
     * 128 weights, not a broadcast and a scalar load per byte. No VectorMask constant blends: they
     * allocate in some compilations. The same code on 8 and 4 lanes replaced kernels of their own there,
     * which it outruns (docs/performance.md, 2026-12-06).
     */
    static float dotQ8(MemorySegment w, long off, int blocks, short[] xq, float[] xd, int[] bsums) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long o = off + 210L * b;
            sum += xd[b] * fp16(w, o + 208) * dotQ8SuperBlock(w, o, xq, 256 * b, bsums, 16 * b);
        }
        return sum;
    }

    /**
     * One Q6_K super-block of {@link #dotQ8}, as an exact int: {@code sum_i sc_i * (q . x)_i
     * - 32 * sum_i sc_i * bsum_i}. A method of its own that takes and returns scalars, so that no vector
     * crosses a call whether C2 inlines it or not: the whole kernel in one method, the largest of these,
     * boxes its vectors in some compilations.
     */
    private static int dotQ8SuperBlock(MemorySegment w, long o, short[] xq, int xo0, int[] bsums, int bs) {
        // -1 in int lanes 8-15 (16 lanes only), 0 in 0-7: selects a chunk's second scale
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
        // the 32 offset: sum_i sc_i * bsum_i, N scales a load (on 4 lanes in two parts)
        IntVector corr = IntVector.zero(I);
        for (int i = 0; i < 16; i += N) {
            ByteVector scales = ByteVector.fromMemorySegment(BYTES_N, w, o + 192 + i, LE);
            corr = ((IntVector) scales.convertShape(VectorOperators.B2I, I, 0)).mul(IntVector.fromArray(I, bsums, bs + i)).add(corr);
            if (TWO) corr = ((IntVector) scales.convertShape(VectorOperators.B2I, I, 1)).mul(IntVector.fromArray(I, bsums, bs + i + L)).add(corr);
        }
        return isum.sub(corr.lanewise(VectorOperators.LSHL, 5)).reduceLanes(VectorOperators.ADD);
    }

    /** Q6_K: {@code (d*sc) * (q - 32)}, as dequantize_row_q6_K; half n, then ql[0..31] and ql[32..63]. */
    static void dequantize(MemorySegment w, long off, int blocks, float[] out, int o) {
        for (int b = 0; b < blocks; b++, off += 210, o += 256) {
            float d = fp16(w, off + 208);
            for (int n = 0; n < 2; n++) {
                for (int l = 0; l < 64; l += N) { // ql[l], qh bits 2*(l/32)..; weights l and l + 64 of the half
                    ByteVector q = bytes(w, off + 64 * n + l);
                    ByteVector h = bytes(w, off + 128 + 32 * n + (l & 31)).lanewise(VectorOperators.LSHR, 2 * (l >> 5));
                    long is = off + 192 + 8 * n + l / 16;
                    int ol = o + 128 * n + l;
                    ByteVector qa = q.and((byte) 0x0F).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    ByteVector qb = q.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 0x30)).sub((byte) 32);
                    float da = d * w.get(AbstractWeightTensor.BYTE, is), db = d * w.get(AbstractWeightTensor.BYTE, is + 4);
                    toFloat(qa).mul(da).intoArray(out, ol);
                    toFloat(qb).mul(db).intoArray(out, ol + 64);
                    if (TWO) {
                        toFloatHi(qa).mul(da).intoArray(out, ol + L);
                        toFloatHi(qb).mul(db).intoArray(out, ol + 64 + L);
                    }
                }
            }
        }
    }
}
