package dev.phiedge.runtime.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The attention key/value cache: off-heap, F16 (llama.cpp's default cache type), bounded by the
 * configured context length rather than the model's trained maximum.
 *
 * <p>Layout, one native segment: for each layer, for keys then values, for each kv head, a block of
 * {@code contextLength} rows of {@code headDim} halves. A head's rows are contiguous, so the keys of
 * one head are an F16 matrix (positions x head_dim): the scores of a query are that matrix times the
 * query, and the attended output is the values' matrix times the softmax weights, each one kernel
 * call over a run of positions ({@link #scores}, {@link #addWeightedValues}).
 */
public final class KvCache implements AutoCloseable {
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena;
    private final MemorySegment memory;
    private final int layers;
    private final int kvHeads;
    private final int headDim;
    private final int contextLength;
    private final long headBlockBytes;
    private final long rowBytes;

    public KvCache(int layers, int kvHeads, int headDim, int contextLength) {
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.contextLength = contextLength;
        this.headBlockBytes = (long) contextLength * headDim * Short.BYTES;
        this.arena = Arena.ofShared();
        this.rowBytes = (long) headDim * Short.BYTES;
        this.memory = arena.allocate(headBlockBytes * kvHeads * 2L * layers, 64);
    }

    private long block(int layer, int kind, int head) {
        return (((long) layer * 2 + kind) * kvHeads + head) * headBlockBytes;
    }

    public int contextLength() { return contextLength; }

    /** Bytes of native memory this cache holds. */
    public long byteSize() { return memory.byteSize(); }

    /**
     * Attention scores: {@code out[t] = key(t) . q[qOffset ..]} for the positions {@code first .. last}
     * of one kv head of one layer.
     */
    void scores(int layer, int kvHead, int first, int last, float[] q, int qOffset, float[] out) {
        checkRun(layer, kvHead, first, last);
        VectorMath.dotHalfRows(memory, block(layer, 0, kvHead) + first * rowBytes, rowBytes, last - first + 1, headDim, q, qOffset, out, first);
    }

    /**
     * The attention-weighted sum of values: {@code out[outOffset + i] += sum of p[t] * value(t)[i]} over
     * the positions {@code t = first .. last} of one kv head of one layer.
     */
    void addWeightedValues(int layer, int kvHead, int first, int last, float[] p, float[] out, int outOffset) {
        checkRun(layer, kvHead, first, last);
        VectorMath.addWeightedHalfRows(memory, block(layer, 1, kvHead) + first * rowBytes, rowBytes, last - first + 1, headDim, p, first, out, outOffset);
    }

    private void checkRun(int layer, int kvHead, int first, int last) {
        if (layer < 0 || layer >= layers || kvHead < 0 || kvHead >= kvHeads || first < 0 || last < first || last >= contextLength) {
            throw new IndexOutOfBoundsException("layer " + layer + ", kv head " + kvHead + ", positions " + first + ".." + last);
        }
    }

    /**
     * Stores the keys and values of one position: {@code kvHeads * headDim} floats each, rounded to F16.
     * Beyond F16's range a value saturates at +-65504 (llama.cpp would store an infinity, and its
     * attention would turn NaN), so the cache holds only finite halves, which lets the attention
     * kernels convert them in four instructions ({@link VectorMath#dotHalfRows}).
     */
    void store(int layer, int pos, float[] k, int kOffset, float[] v, int vOffset) {
        for (int h = 0; h < kvHeads; h++) {
            long kRow = block(layer, 0, h) + pos * rowBytes;
            long vRow = block(layer, 1, h) + pos * rowBytes;
            for (int i = 0; i < headDim; i++) {
                memory.set(HALF, kRow + 2L * i, toHalf(k[kOffset + h * headDim + i]));
                memory.set(HALF, vRow + 2L * i, toHalf(v[vOffset + h * headDim + i]));
            }
        }
    }

    /** Round to nearest half, saturating at the largest finite one (65504). */
    static short toHalf(float x) {
        return Float.floatToFloat16(Math.clamp(x, -65504f, 65504f));
    }

    /** A copy of the first {@code positions} rows of every head, for prefix reuse. */
    public Snapshot snapshot(int positions) {
        if (positions < 0 || positions > contextLength) throw new IllegalArgumentException("positions " + positions);
        long span = (long) positions * headDim * Short.BYTES;
        int blocks = layers * 2 * kvHeads;
        Arena snapArena = Arena.ofShared();
        MemorySegment copy = snapArena.allocate(Math.max(1, span * blocks), 64);
        for (int b = 0; b < blocks; b++) MemorySegment.copy(memory, b * headBlockBytes, copy, b * span, span);
        return new Snapshot(snapArena, copy, positions, this);
    }

    /** Puts a snapshot's rows back at positions 0 .. snapshot.positions()-1. */
    public void restore(Snapshot snapshot) {
        if (!snapshot.fits(this)) throw new IllegalArgumentException("snapshot was taken from a cache of another shape");
        long span = (long) snapshot.positions * headDim * Short.BYTES;
        int blocks = layers * 2 * kvHeads;
        for (int b = 0; b < blocks; b++) MemorySegment.copy(snapshot.memory, b * span, memory, b * headBlockBytes, span);
    }

    @Override
    public void close() { arena.close(); }

    /** Cached keys and values of a prompt prefix, off-heap; close it when no longer needed. */
    public static final class Snapshot implements AutoCloseable {
        private final Arena arena;
        private final MemorySegment memory;
        private final int positions;
        private final int layers;
        private final int kvHeads;
        private final int headDim;

        Snapshot(Arena arena, MemorySegment memory, int positions, KvCache from) {
            this.arena = arena;
            this.memory = memory;
            this.positions = positions;
            this.layers = from.layers;
            this.kvHeads = from.kvHeads;
            this.headDim = from.headDim;
        }

        boolean fits(KvCache cache) {
            return cache.layers == layers && cache.kvHeads == kvHeads && cache.headDim == headDim && positions <= cache.contextLength;
        }

        public int positions() { return positions; }

        public long byteSize() { return memory.byteSize(); }

        @Override
        public void close() { arena.close(); }
    }
}
