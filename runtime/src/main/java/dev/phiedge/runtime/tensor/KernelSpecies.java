package dev.phiedge.runtime.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Every vector species the kernels use, the switches that pick their paths, and the few helpers they
 * share. The kernels themselves are one class per weight format beside its tensor class
 * ({@link F32Kernels}, {@link F16Kernels}, {@link Q8_0Kernels}, {@link Q4_0Kernels}, {@link Q4KKernels},
 * {@link Q5KKernels}, {@link Q6KKernels}); the batched products' kernels are in the {@code matmul}
 * package, the forward pass's own in {@code model.VectorMath}.
 *
 * <p>A format's class has the kernels it needs, each over one weight row read in place from the mapped
 * segment (little-endian {@code fromMemorySegment}), under the same names: {@code dot}, against float
 * activations (the quants widened to floats and accumulated with FMAs, each block's scale applied to a
 * whole vector of partial sums: one lane sum a row); {@code dotQ8}, against activations quantized the
 * way ggml does ({@link Q8Activations}, quants as shorts), ggml's {@code vec_dot_*_q8_*} (quants times
 * the activations' quants summed exactly in integers, each block's sum scaled by {@code d_w * d_x}
 * once); {@code dotQ8Bytes}, the same on the quants as bytes; {@code dotQ8On128}, the integer dot on
 * 128-bit short vectors where that width has a form of its own; and {@code dequantize}, the row as
 * floats with the scalar kernel's arithmetic. Each tensor class holds the ground truth: the block
 * layout from ggml-common.h and the scalar kernels ({@code dotRowScalar}, {@code dotRowQ8Scalar},
 * {@code dequantizeRowAtScalar}), which the vector kernels equal up to float summation order
 * (dequantization bit for bit).
 *
 * <p>Widths. {@link #L} is the preferred float species' lane count. Quants are loaded {@link #N} at a
 * time, N = max(L, 8) (the smallest byte species has 8 lanes). With L = 8 or 16 (AVX2, AVX-512) N = L
 * and every widening conversion keeps the lane count (part 0). With L = 4 (128-bit NEON, as on a
 * Raspberry Pi 4/5) each 8-byte load is widened twice, parts 0 and 1, written out as constants
 * ({@link #TWO}): a conversion with a part number other than 0 is not intrinsified unless the part is a
 * parse-time constant, and boxes vectors otherwise. {@code L == 4} is a static final constant, so the
 * 8/16-lane paths compile as if it were not there. Other lane counts leave {@link #ENABLED} false, and
 * the tensors use their scalar kernels. The K-quants' integer kernels ({@code dotQ8}: Q4_K, Q5_K,
 * Q6_K) are one code for 4, 8 and 16 lanes. Q8_0's and Q4_0's {@code dotQ8On128} (4 and 8 lanes, 8
 * quants a load) is {@code dotQ8}'s arithmetic written with the same species; at 16 lanes
 * {@code dotQ8} takes two blocks an iteration, and at 8 lanes the loads are written out, each the
 * faster form there.
 *
 * <p>Rules for every kernel (how to measure a change: docs/kernels.md; the measurements behind them:
 * docs/performance.md):
 * <ul>
 *   <li>No vector crosses a call of ours. Once a kernel method's Vector API calls pass C2's
 *       NodeCountInliningCutoff, C2 leaves its later calls to small methods of ours (a lane sum, a
 *       widening) as real calls and boxes every vector passed to one: the kernel allocates per row and
 *       runs several times slower, in some JVM runs and not others. The Vector API's own methods are
 *       force-inlined even then. So each integer kernel is one method of Vector API calls: loads,
 *       widenings and the lane sum of {@link #sum} are written out; a helper of ours takes and returns
 *       scalars only. DecodeKernelAllocationTest checks that a compiled decode product allocates
 *       nothing. Some float-activation kernels pass vectors to helpers ({@link #toFloat}, their block
 *       methods); where that boxes, the tensor says so ({@link WeightTensor#floatDecodeKernelBoxes})
 *       and no kernel plan chooses them there.</li>
 *   <li>Lane sums in one fixed pairwise order ({@link #sum}), never a float {@code reduceLanes}.</li>
 *   <li>Work a full register at a time and count instructions per weight (the K-quants' classes say
 *       how they unpack their quants). The two products in each int lane of a reinterpreted short
 *       product are summed as {@code (v + (v << 16)) >> 16} (exact: a sum fits a short), which is
 *       ggml's {@code madd} in three instructions.</li>
 *   <li>Address block or super-block b as {@code off + size * b}, never by a running offset, so that
 *       C2 proves the loads' bounds once per row instead of at every load.</li>
 *   <li>The K-quant kernels need {@code -XX:LoopUnrollLimit=400} ({@link #LOOPS_UNROLLED}).</li>
 * </ul>
 */
public final class KernelSpecies {
    private KernelSpecies() {}

    /** The weights' byte order: GGUF is little-endian. */
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    // ---- the preferred width

    /** L floats: the preferred float species, every float kernel's accumulators. */
    public static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** The lanes of {@link #F}: 16 (AVX-512), 8 (AVX2), 4 (NEON; x86 with -XX:MaxVectorSize=16). */
    public static final int L = F.length();
    /** Whether the vector kernels run at all: 4, 8 or 16 float lanes. */
    public static final boolean ENABLED = L == 4 || L == 8 || L == 16;
    /** Whether a byte load holds two float vectors' quants (L = 4: 8 bytes, parts 0 and 1). */
    static final boolean TWO = L == 4;
    /** L ints, the shape of {@link #F}: integer sums, converted to floats in place. */
    public static final VectorSpecies<Integer> I = F.withLanes(int.class).check(int.class);
    /** L shorts (half F's bits, at least 64): binary16 values or activation quants, widened to I (part 0). */
    public static final VectorSpecies<Short> SHORTS_L = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, L * 16)));
    /** N = max(L, 8) bytes, a quarter of the bits of F (at least 64): one load of quants. */
    static final VectorSpecies<Byte> BYTES_N = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    /** Quants per byte load: L, or 8 (= 2L) where L = 4. */
    static final int N = BYTES_N.length();
    /** N shorts: the quants of one byte load, widened (the integer kernels' lanes at 8 and 16 floats). */
    static final VectorSpecies<Short> SHORTS_N = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * N));
    /** 2L bytes: one load of packed K-quants that widens to {@link #SHORTS_2L}. */
    static final VectorSpecies<Byte> BYTES_2L = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, 16 * L)));
    /** 2L shorts: a full register of quants times activations; reinterpreted, L ints of two products each. */
    static final VectorSpecies<Short> SHORTS_2L = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, 32 * L)));
    /** L / 2 longs, the shape of {@link #I}: the K-quants' 8 packed mins, broadcast. */
    static final VectorSpecies<Long> LONGS_HALF_L = VectorSpecies.of(long.class, I.vectorShape());
    /** 16 activation quants as bytes: one 128-bit load, widened to {@link #SHORTS_N} (dotQ8Bytes). */
    static final VectorSpecies<Byte> BYTES_16 = ByteVector.SPECIES_128;

    // ---- which kernels exist here

    /** Whether Q8_0 and Q4_0 have their byte-activation kernels ({@code dotQ8Bytes}): 16 lanes only. */
    static final boolean BYTE_ACTIVATIONS = L == 16;

    /**
     * Whether C2 fully unrolls the K-quants' sub-block loops, which it does only with
     * {@code -XX:LoopUnrollLimit=300} or more (200 unrolls Q4_K's but not Q6_K's; the default, 60, is
     * far below these loop bodies). The launchers and the test runs set 400. Do not unroll by hand
     * instead: that passes C2's inlining node limit and boxes vectors. Rolled, Q6_K's integer kernel is
     * no faster than its float kernel, so decoding takes it only when this is true
     * ({@link Q6KTensor#prefersQuantizedActivations}; figures in docs/performance.md).
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

    // ---- helpers the kernels share

    /** The fp16 at byte {@code off}, as a float. */
    static float fp16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(AbstractWeightTensor.LE_SHORT, off));
    }

    /**
     * The lanes' sum in a fixed pairwise order. {@code reduceLanes(ADD)} leaves the order open, and the
     * interpreter's and C2's orders differ, so a row's dot would change in its last bit once the kernel
     * is compiled; this order is the same in every tier.
     */
    static float sum(FloatVector v) {
        // Constant slice origins, written out: a loop's origin is not a constant when C2 parses the
        // intrinsic, so it would take the slow (shuffle-building) path once per row.
        if (L >= 16) v = v.add(v.slice(8));
        if (L >= 8) v = v.add(v.slice(4));
        v = v.add(v.slice(2));
        v = v.add(v.slice(1));
        return v.lane(0);
    }

    /** N bytes at {@code off}. */
    static ByteVector bytes(MemorySegment w, long off) {
        return ByteVector.fromMemorySegment(BYTES_N, w, off, LE);
    }

    /** L signed bytes widened to L floats (same lane count: part 0, so the conversion is intrinsic). */
    static FloatVector toFloat(ByteVector v) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, 0);
    }

    /** Bytes L..2L-1 of an N = 2L byte vector widened to L floats (L = 4 only; a constant part). */
    static FloatVector toFloatHi(ByteVector v) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, 1);
    }
}
