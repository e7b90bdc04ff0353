package dev.phiedge.runtime.model;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.tensor.WeightTensor;
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
 * one head are an F16 matrix (positions x head_dim) and the F16 tensor kernels compute attention
 * scores as plain row dot products.
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
    private final WeightTensor[][] keys;
    private final WeightTensor[][] values;

    public KvCache(int layers, int kvHeads, int headDim, int contextLength) {
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.contextLength = contextLength;
        this.headBlockBytes = (long) contextLength * headDim * Short.BYTES;
        this.arena = Arena.ofShared();
        this.memory = arena.allocate(headBlockBytes * kvHeads * 2L * layers, 64);
        this.keys = new WeightTensor[layers][kvHeads];
        this.values = new WeightTensor[layers][kvHeads];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                keys[l][h] = WeightTensor.of(GgmlType.F16, memory.asSlice(block(l, 0, h), headBlockBytes), contextLength, headDim);
                values[l][h] = WeightTensor.of(GgmlType.F16, memory.asSlice(block(l, 1, h), headBlockBytes), contextLength, headDim);
            }
        }
    }

    private long block(int layer, int kind, int head) {
        return (((long) layer * 2 + kind) * kvHeads + head) * headBlockBytes;
    }

    public int contextLength() { return contextLength; }

    /** Bytes of native memory this cache holds. */
    public long byteSize() { return memory.byteSize(); }

    /** The keys of one kv head of one layer: row t is position t. */
    WeightTensor keys(int layer, int kvHead) { return keys[layer][kvHead]; }

    /** The values of one kv head of one layer: row t is position t. */
    WeightTensor values(int layer, int kvHead) { return values[layer][kvHead]; }

    /** Stores the keys and values of one position: {@code kvHeads * headDim} floats each, rounded to F16. */
    void store(int layer, int pos, float[] k, int kOffset, float[] v, int vOffset) {
        for (int h = 0; h < kvHeads; h++) {
            long kRow = block(layer, 0, h) + (long) pos * headDim * Short.BYTES;
            long vRow = block(layer, 1, h) + (long) pos * headDim * Short.BYTES;
            for (int i = 0; i < headDim; i++) {
                memory.set(HALF, kRow + 2L * i, Float.floatToFloat16(k[kOffset + h * headDim + i]));
                memory.set(HALF, vRow + 2L * i, Float.floatToFloat16(v[vOffset + h * headDim + i]));
            }
        }
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
