package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.I;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;
import static dev.phiedge.runtime.tensor.KernelSpecies.LE;
import static dev.phiedge.runtime.tensor.KernelSpecies.N;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_L;
import static dev.phiedge.runtime.tensor.KernelSpecies.TWO;
import static dev.phiedge.runtime.tensor.KernelSpecies.bytes;
import static dev.phiedge.runtime.tensor.KernelSpecies.fp16;
import static dev.phiedge.runtime.tensor.KernelSpecies.sum;
import static dev.phiedge.runtime.tensor.KernelSpecies.toFloat;
import static dev.phiedge.runtime.tensor.KernelSpecies.toFloatHi;

/**
 * Vector API dot products of one weight row against float activations, for the types that carry the
 * model's weight bytes (F32, F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K). Each reads the mapped segment in place
 * (little-endian {@code fromMemorySegment}), widens the quants to the preferred float species, and
 * accumulates with FMAs; per-block scales are applied to a whole vector of partial sums, so there is one
 * horizontal reduction per row. Results equal the scalar kernels up to float summation order.
 *
 * <p>Widths and rules: {@link KernelSpecies}.
 */
final class VectorKernels {
    private VectorKernels() {}

    static float dotF32(MemorySegment w, long off, int n, float[] x, int xo) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int k = 0;
        for (; k <= n - 4 * L; k += 4 * L) {
            long o = off + 4L * k;
            a0 = FloatVector.fromMemorySegment(F, w, o, LE).fma(FloatVector.fromArray(F, x, xo + k), a0);
            a1 = FloatVector.fromMemorySegment(F, w, o + 4L * L, LE).fma(FloatVector.fromArray(F, x, xo + k + L), a1);
            a2 = FloatVector.fromMemorySegment(F, w, o + 8L * L, LE).fma(FloatVector.fromArray(F, x, xo + k + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(F, w, o + 12L * L, LE).fma(FloatVector.fromArray(F, x, xo + k + 3 * L), a3);
        }
        for (; k <= n - L; k += L) {
            a0 = FloatVector.fromMemorySegment(F, w, off + 4L * k, LE).fma(FloatVector.fromArray(F, x, xo + k), a0);
        }
        float sum = sum(a0.add(a1).add(a2.add(a3)));
        for (; k < n; k++) sum += w.get(AbstractWeightTensor.LE_FLOAT, off + 4L * k) * x[xo + k];
        return sum;
    }

    /**
     * F16 weights: each binary16 becomes a binary32 exactly, in integer lanes and without a mask: the
     * magnitude bits shifted into an f32 and scaled by 2^112 (exact for normal and subnormal halves);
     * Inf and NaN (magnitude >= 0x7c00, the only ones for which {@code (mag + 0x400) >>> 15} is 1) get
     * 112 more in the exponent field, which makes it all ones; then the sign. Written out, with the lane
     * sum, in one method: as a vector-valued helper (with a VectorMask blend for Inf/NaN) the conversion
     * boxed its vectors in the allocation test once another test had run prompt-processing products
     * in the same JVM (see {@link IntKernels}: no vector may cross a call).
     */
    static float dotF16(MemorySegment w, long off, int n, float[] x, int xo) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int k = 0;
        // Chunks of 6 vectors, each a constant-count loop of 3 steps that C2 unrolls completely: a
        // single loop over the row compiles to fast or slow code depending on the loop profile C2 saw
        // (row lengths of earlier calls); this form is fast whatever the profile, and 6 is the chunk
        // size that measured fastest (docs/performance.md, F16).
        for (; k <= n - 6 * L; k += 6 * L) {
            for (int j = 0; j < 6 * L; j += 2 * L) {
                long o = off + 2L * (k + j);
                IntVector h0 = (IntVector) ShortVector.fromMemorySegment(SHORTS_L, w, o, LE).convertShape(VectorOperators.S2I, I, 0);
                IntVector h1 = (IntVector) ShortVector.fromMemorySegment(SHORTS_L, w, o + 2L * L, LE).convertShape(VectorOperators.S2I, I, 0);
                IntVector m0 = h0.and(0x7fff), m1 = h1.and(0x7fff);
                IntVector f0 = m0.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .add(m0.add(0x400).lanewise(VectorOperators.LSHR, 15).neg().and(112 << 23))
                        .or(h0.and(0x8000).lanewise(VectorOperators.LSHL, 16));
                IntVector f1 = m1.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .add(m1.add(0x400).lanewise(VectorOperators.LSHR, 15).neg().and(112 << 23))
                        .or(h1.and(0x8000).lanewise(VectorOperators.LSHL, 16));
                a0 = f0.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xo + k + j), a0);
                a1 = f1.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xo + k + j + L), a1);
            }
        }
        FloatVector v = a0.add(a1); // sum(v), written out
        if (L >= 16) v = v.add(v.slice(8));
        if (L >= 8) v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0) + (k < n ? dotF16Rest(w, off, k, n, x, xo) : 0f);
    }

    /**
     * {@link #dotF16} from column {@code k} on (fewer than six vectors: 8192-column rows end with
     * two), two vectors at a time and then one half at a time. Its own method, taking and returning
     * scalars: in dotF16 itself this loop made C2 box vectors (DecodeKernelAllocationTest).
     */
    private static float dotF16Rest(MemorySegment w, long off, int k, int n, float[] x, int xo) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (; k <= n - 2 * L; k += 2 * L) {
            long o = off + 2L * k;
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(SHORTS_L, w, o, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(SHORTS_L, w, o + 2L * L, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector m0 = h0.and(0x7fff), m1 = h1.and(0x7fff);
            IntVector f0 = m0.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                    .add(m0.add(0x400).lanewise(VectorOperators.LSHR, 15).neg().and(112 << 23))
                    .or(h0.and(0x8000).lanewise(VectorOperators.LSHL, 16));
            IntVector f1 = m1.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                    .add(m1.add(0x400).lanewise(VectorOperators.LSHR, 15).neg().and(112 << 23))
                    .or(h1.and(0x8000).lanewise(VectorOperators.LSHL, 16));
            a0 = f0.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xo + k), a0);
            a1 = f1.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xo + k + L), a1);
        }
        FloatVector v = a0.add(a1); // sum(v), written out
        if (L >= 16) v = v.add(v.slice(8));
        if (L >= 8) v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        float sum = v.lane(0);
        for (; k < n; k++) sum += fp16(w, off + 2L * k) * x[xo + k]; // fewer than 2L weights
        return sum;
    }

    /** Q8_0: 34-byte blocks, fp16 d + 32 int8 (see {@link Q8_0Tensor}). */
    static float dotQ8_0(MemorySegment w, long off, int blocks, float[] x, int xo) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        if (TWO) { // one block per iteration: two would pass C2's inlining node limit and box vectors
            for (; b < blocks; b++, off += 34, xo += 32) a0 = q8_0Block(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
            return sum(a0);
        }
        for (; b + 1 < blocks; b += 2, off += 68, xo += 64) {
            a0 = q8_0Block(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
            a1 = q8_0Block(w, off + 34, x, xo + 32).fma(FloatVector.broadcast(F, fp16(w, off + 34)), a1);
        }
        if (b < blocks) a0 = q8_0Block(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
        return sum(a0.add(a1));
    }

    private static FloatVector q8_0Block(MemorySegment w, long off, float[] x, int xo) {
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

    /** Q4_0: 18-byte blocks, fp16 d + 16 bytes of nibbles (see {@link Q4_0Tensor}). */
    static float dotQ4_0(MemorySegment w, long off, int blocks, float[] x, int xo) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int b = 0;
        if (TWO) { // one block per iteration: two would pass C2's inlining node limit and box vectors
            for (; b < blocks; b++, off += 18, xo += 32) a0 = q4_0Block(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
            return sum(a0);
        }
        for (; b + 1 < blocks; b += 2, off += 36, xo += 64) {
            a0 = q4_0Block(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
            a1 = q4_0Block(w, off + 18, x, xo + 32).fma(FloatVector.broadcast(F, fp16(w, off + 18)), a1);
        }
        if (b < blocks) a0 = q4_0Block(w, off, x, xo).fma(FloatVector.broadcast(F, fp16(w, off)), a0);
        return sum(a0.add(a1));
    }

    private static FloatVector q4_0Block(MemorySegment w, long off, float[] x, int xo) {
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

    /** Q4_K: 144-byte super-blocks of 256 (see {@link Q4KTensor}). */
    static float dotQ4K(MemorySegment w, long off, int blocks, float[] x, int xo) {
        return dotQ4KOrQ5K(w, off, blocks, x, xo, 144, 16, false);
    }

    /** Q5_K: 176-byte super-blocks of 256 (see {@link Q5KTensor}); the high bits are at byte 16. */
    static float dotQ5K(MemorySegment w, long off, int blocks, float[] x, int xo) {
        return dotQ4KOrQ5K(w, off, blocks, x, xo, 176, 48, true);
    }

    /**
     * Q4_K and Q5_K share scales, mins and nibble order. Sub-block {@code j} (32 weights) is the low
     * ({@code j} even) or high nibbles of {@code qs[32*(j/2) ..]}, plus for Q5_K bit {@code j} of
     * {@code qh[0..31]} as 16; weight = {@code q*d*sc - dmin*m}. One loop over the 8 sub-blocks keeps the
     * compiled body small (C2 stops inlining the Vector API, and boxes, past its node-count cutoff).
     */
    private static float dotQ4KOrQ5K(MemorySegment w, long off, int blocks, float[] x, int xo,
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
     * Q6_K: 210-byte super-blocks of 256 (see {@link Q6KTensor}). Not used where L = 4: its four
     * widenings a step pass C2's inlining node limit there, box vectors, and measured slower than the
     * scalar kernel (see {@link Q6KTensor#dotRow}). Each half {@code n} is done in two
     * groups: {@code ql[0..31]} (weights 0..31 and 64..95 of the half, qh bits 0-1 and 4-5, scales
     * 0-1 and 4-5) and {@code ql[32..63]} (weights 32..63 and 96..127, qh bits 2-3 and 6-7, scales 2-3
     * and 6-7). One loop over the four groups keeps the compiled body small: C2 stops inlining the
     * Vector API (and boxes vectors) past its node-count cutoff.
     */
    static float dotQ6K(MemorySegment w, long off, int blocks, float[] x, int xo) {
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

    // ---- dequantization: the scalar kernels' exact arithmetic (no fused multiply-add), L weights at a time

    static void dequantizeQ8_0(MemorySegment w, long off, int blocks, float[] out, int o) {
        for (int b = 0; b < blocks; b++, off += 34, o += 32) {
            FloatVector d = FloatVector.broadcast(F, fp16(w, off));
            for (int p = 0; p < 32; p += N) {
                ByteVector q = bytes(w, off + 2 + p);
                toFloat(q).mul(d).intoArray(out, o + p);
                if (TWO) toFloatHi(q).mul(d).intoArray(out, o + p + L);
            }
        }
    }

    static void dequantizeQ4_0(MemorySegment w, long off, int blocks, float[] out, int o) {
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

    /** Q4_K / Q5_K: {@code d*sc * q - dmin*m} per sub-block, as dequantize_row_q4_K / q5_K. */
    static void dequantizeQ4KOrQ5K(MemorySegment w, long off, int blocks, float[] out, int o, int blockBytes, int qsOffset, boolean high) {
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

    /** Q6_K: {@code (d*sc) * (q - 32)}, as dequantize_row_q6_K; half n, then ql[0..31] and ql[32..63]. */
    static void dequantizeQ6K(MemorySegment w, long off, int blocks, float[] out, int o) {
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
