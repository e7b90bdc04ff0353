package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;
import static dev.phiedge.runtime.tensor.KernelSpecies.LE;
import static dev.phiedge.runtime.tensor.KernelSpecies.sum;

/**
 * The vector kernel of F32 weights (layout: see {@link F32Tensor}: 4 little-endian bytes a weight, no
 * blocks): {@link #dot}, the {@code n} weights from byte {@code off} of {@code w} against float
 * activations, in four FMA chains and a scalar tail. F32 has no integer kernel, and its dequantization
 * is the scalar copy ({@link F32Tensor}). It equals the scalar {@code dotRowScalar} up to float
 * summation order. Widths and rules: {@link KernelSpecies}.
 */
final class F32Kernels {
    private F32Kernels() {}

    static float dot(MemorySegment w, long off, int n, float[] x, int xo) {
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
}
