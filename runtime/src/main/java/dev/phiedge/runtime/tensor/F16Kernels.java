package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.I;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;
import static dev.phiedge.runtime.tensor.KernelSpecies.LE;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_L;
import static dev.phiedge.runtime.tensor.KernelSpecies.fp16;
import static dev.phiedge.runtime.tensor.KernelSpecies.sum;

/**
 * The vector kernel of F16 weights (layout: see {@link F16Tensor}: ggml_fp16_t, no blocks):
 * {@link #dot}, the {@code n} weights from byte {@code off} of {@code w} against float activations, each
 * binary16 converted exactly on int lanes; {@link #dotRest} takes a row's last columns. F16 has no integer
 * kernel, and its dequantization is the scalar loop ({@link F16Tensor}), which C2 vectorizes: faster
 * than the conversion written out on vectors (docs/performance.md, F16). It equals the scalar
 * {@code dotRowScalar} up to float summation order. Widths and rules: {@link KernelSpecies}.
 */
final class F16Kernels {
    private F16Kernels() {}

    /**
     * F16 weights: each binary16 becomes a binary32 exactly, in integer lanes and without a mask: the
     * magnitude bits shifted into an f32 and scaled by 2^112 (exact for normal and subnormal halves);
     * Inf and NaN (magnitude >= 0x7c00, the only ones for which {@code (mag + 0x400) >>> 15} is 1) get
     * 112 more in the exponent field, which makes it all ones; then the sign. Written out, with the lane
     * sum, in one method: as a vector-valued helper (with a VectorMask blend for Inf/NaN) the conversion
     * boxed its vectors in the allocation test once another test had run prompt-processing products
     * in the same JVM (see {@link KernelSpecies}: no vector may cross a call).
     */
    static float dot(MemorySegment w, long off, int n, float[] x, int xo) {
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
        return v.lane(0) + (k < n ? dotRest(w, off, k, n, x, xo) : 0f);
    }

    /**
     * {@link #dot} from column {@code k} on (fewer than six vectors: 8192-column rows end with
     * two), two vectors at a time and then one half at a time. Its own method, taking and returning
     * scalars: in dot itself this loop made C2 box vectors (DecodeKernelAllocationTest).
     */
    private static float dotRest(MemorySegment w, long off, int k, int n, float[] x, int xo) {
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
}
