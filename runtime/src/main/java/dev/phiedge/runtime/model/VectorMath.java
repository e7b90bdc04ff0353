package dev.phiedge.runtime.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.phiedge.runtime.tensor.KernelSpecies.ENABLED;
import static dev.phiedge.runtime.tensor.KernelSpecies.F;
import static dev.phiedge.runtime.tensor.KernelSpecies.I;
import static dev.phiedge.runtime.tensor.KernelSpecies.L;
import static dev.phiedge.runtime.tensor.KernelSpecies.SHORTS_L;

/**
 * Float-array kernels of the forward pass on the Vector API (the widest species the CPU has): SwiGLU,
 * the softmax's exponentials and the attention kernels over the F16 KV cache (the matrix products'
 * are in the {@code matmul} package). The rules are every kernel's ({@code KernelSpecies},
 * docs/kernels.md): one method of Vector API calls per kernel, lane sums written out in the fixed
 * order of {@code KernelSpecies.sum}, and nothing allocated once compiled (AttentionAllocationTest).
 * Measurements: docs/performance.md.
 */
final class VectorMath {
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private VectorMath() { }

    /**
     * {@code out[oo + i] = silu(g) * u = g / (1 + e^-g) * u} for {@code g = gate[go + i]}, {@code u = up[uo + i]}:
     * the SwiGLU activation. The exponential is the JDK's vector math library (SVML on x86), within an
     * ulp or so of Math.exp. It runs once a layer between two products, on the calling thread only.
     */
    static void swiglu(float[] gate, int go, float[] up, int uo, float[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, go + i);
            g.div(g.neg().lanewise(VectorOperators.EXP).add(1f)).mul(FloatVector.fromArray(F, up, uo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            float g = gate[go + i];
            out[oo + i] = g / (1f + (float) Math.exp(-g)) * up[uo + i];
        }
    }

    /**
     * {@code x[i] = e^(x[i] - max)} for {@code i} in {@code [from, to)}, and their sum: the softmax's
     * numerators. The exponential is the JDK's vector math library, as in {@link #swiglu}.
     */
    static float expShifted(float[] x, int from, int to, float max) {
        FloatVector acc = FloatVector.zero(F);
        int i = from;
        for (; i <= to - L; i += L) {
            FloatVector e = FloatVector.fromArray(F, x, i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, i);
            acc = acc.add(e);
        }
        // KernelSpecies.sum, written out: its call here would run once per call of this method, so C2
        // may leave it out of line, boxing acc (AttentionAllocationTest)
        FloatVector v = acc;
        if (L >= 16) v = v.add(v.slice(8));
        if (L >= 8) v = v.add(v.slice(4));
        if (L >= 4) v = v.add(v.slice(2));
        if (L >= 2) v = v.add(v.slice(1));
        float sum = v.lane(0);
        for (; i < to; i++) {
            float e = (float) Math.exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        return sum;
    }

    // ---- The attention kernels over the F16 key/value cache ({@link KvCache}: rows of n halves, rowBytes apart)

    /**
     * {@code out[oo + r] = row r . x[xo ..]} for the {@code count} rows of {@code n} halves from byte
     * {@code off}: the attention scores of one query against a run of cached keys. Two FMA chains per
     * row (even and odd vectors of k) and then the lane sum, the order of the F16 weight kernel.
     */
    static void dotHalfRows(MemorySegment m, long off, long rowBytes, int count, int n, float[] x, int xo, float[] out, int oo) {
        for (int r = 0; r < count; r++, off += rowBytes) {
            int k = 0;
            float s = 0f;
            if (ENABLED) {
                FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
                for (; k <= n - 2 * L; k += 2 * L) {
                    a0 = finiteHalves(m, off + 2L * k).fma(FloatVector.fromArray(F, x, xo + k), a0);
                    a1 = finiteHalves(m, off + 2L * (k + L)).fma(FloatVector.fromArray(F, x, xo + k + L), a1);
                }
                FloatVector v = a0.add(a1); // the lane sum, written out as in expShifted
                if (L >= 16) v = v.add(v.slice(8));
                if (L >= 8) v = v.add(v.slice(4));
                if (L >= 4) v = v.add(v.slice(2));
                if (L >= 2) v = v.add(v.slice(1));
                s = v.lane(0);
            }
            for (; k < n; k++) s += half(m, off + 2L * k) * x[xo + k];
            out[oo + r] = s;
        }
    }

    /**
     * {@code out[oo + k] += sum over r of p[po + r] * row r [k]}, for {@code k < n} and the
     * {@code count} rows of {@code n} halves from byte {@code off}: the attention-weighted sum of a run
     * of cached values. Two vectors of {@code out} stay in registers while the rows stream past,
     * converted in registers and never stored as floats; each element is one FMA chain over r in
     * order. Two vectors at a time is the fastest form measured (docs/performance.md).
     */
    static void addWeightedHalfRows(MemorySegment m, long off, long rowBytes, int count, int n, float[] p, int po, float[] out, int oo) {
        int k = 0;
        if (ENABLED) {
            for (; k <= n - 2 * L; k += 2 * L) {
                FloatVector a0 = FloatVector.fromArray(F, out, oo + k), a1 = FloatVector.fromArray(F, out, oo + k + L);
                long o = off + 2L * k;
                for (int r = 0; r < count; r++, o += rowBytes) {
                    FloatVector w = FloatVector.broadcast(F, p[po + r]);
                    a0 = finiteHalves(m, o).fma(w, a0);
                    a1 = finiteHalves(m, o + 2L * L).fma(w, a1);
                }
                a0.intoArray(out, oo + k);
                a1.intoArray(out, oo + k + L);
            }
            for (; k <= n - L; k += L) {
                FloatVector a = FloatVector.fromArray(F, out, oo + k);
                long o = off + 2L * k;
                for (int r = 0; r < count; r++, o += rowBytes) a = finiteHalves(m, o).fma(FloatVector.broadcast(F, p[po + r]), a);
                a.intoArray(out, oo + k);
            }
        }
        for (; k < n; k++) {
            float a = out[oo + k];
            long o = off + 2L * k;
            for (int r = 0; r < count; r++, o += rowBytes) a = Math.fma(half(m, o), p[po + r], a);
            out[oo + k] = a;
        }
    }

    /**
     * L finite halves from byte {@code off} as floats, exactly: the sign-extended half shifted left 16
     * and arithmetically right 3 puts the sign at bit 31 and exponent|mantissa at bits 27..13; clearing
     * bits 30..28 leaves sign | magnitude << 13, a float 2^-112 times the half (subnormal halves
     * included), and the multiplication by 2^112 rebiases the exponent. Three integer instructions and
     * one multiply, where a conversion that also keeps Inf and NaN takes eleven: the cache holds only
     * finite halves ({@link KvCache#store} saturates at the largest one).
     */
    private static FloatVector finiteHalves(MemorySegment m, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(SHORTS_L, m, off, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.S2I, I, 0);
        return h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8fffffff).reinterpretAsFloats().mul(0x1p112f);
    }

    private static float half(MemorySegment m, long off) {
        return Float.float16ToFloat(m.get(HALF, off));
    }
}
