package dev.phiedge.runtime.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The attention key/value cache: off-heap, F16 (as llama.cpp's default cache type), bounded by the
 * configured context length rather than the model's trained maximum.
 *
 * <p>Layout, one native segment: for each layer, keys then values, each {@code contextLength} rows
 * of {@code kvDim} half floats. Row {@code pos} of layer {@code l}'s keys starts at byte
 * {@code ((l * 2) * contextLength + pos) * kvDim * 2}.
 */
public final class KvCache implements AutoCloseable {
    static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena;
    private final MemorySegment memory;
    private final int layers;
    private final int contextLength;
    private final int kvDim;
    private final long rowBytes;

    public KvCache(int layers, int contextLength, int kvDim) {
        this.layers = layers;
        this.contextLength = contextLength;
        this.kvDim = kvDim;
        this.rowBytes = (long) kvDim * Short.BYTES;
        this.arena = Arena.ofShared();
        this.memory = arena.allocate(rowBytes * contextLength * 2L * layers, 64);
    }

    public int contextLength() { return contextLength; }

    public int kvDim() { return kvDim; }

    /** Bytes of native memory this cache holds. */
    public long byteSize() { return memory.byteSize(); }

    long keyRow(int layer, int pos) { return ((long) layer * 2 * contextLength + pos) * rowBytes; }

    long valueRow(int layer, int pos) { return ((long) (layer * 2 + 1) * contextLength + pos) * rowBytes; }

    MemorySegment memory() { return memory; }

    /** Stores {@code kvDim} floats as halves at the given byte offset. */
    void store(long rowOffset, float[] src, int srcOffset) {
        for (int i = 0; i < kvDim; i++) {
            memory.set(HALF, rowOffset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
        }
    }

    /** q[qOffset..+n) . key row at byte {@code rowOffset} + {@code dimOffset} halves. */
    float dot(long rowOffset, int dimOffset, float[] q, int qOffset, int n) {
        long base = rowOffset + 2L * dimOffset;
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += q[qOffset + i] * Float.float16ToFloat(memory.get(HALF, base + 2L * i));
        }
        return sum;
    }

    /** out[outOffset..+n) += weight * value row at byte {@code rowOffset} + {@code dimOffset} halves. */
    void addScaled(long rowOffset, int dimOffset, float weight, float[] out, int outOffset, int n) {
        long base = rowOffset + 2L * dimOffset;
        for (int i = 0; i < n; i++) {
            out[outOffset + i] += weight * Float.float16ToFloat(memory.get(HALF, base + 2L * i));
        }
    }

    /** A copy of the first {@code positions} rows of every layer, for prefix reuse. */
    public Snapshot snapshot(int positions) {
        if (positions < 0 || positions > contextLength) throw new IllegalArgumentException("positions " + positions);
        Arena snapArena = Arena.ofShared();
        long span = positions * rowBytes;
        MemorySegment copy = snapArena.allocate(Math.max(1, span * 2 * layers), 64);
        for (int l = 0; l < layers; l++) {
            MemorySegment.copy(memory, keyRow(l, 0), copy, (2L * l) * span, span);
            MemorySegment.copy(memory, valueRow(l, 0), copy, (2L * l + 1) * span, span);
        }
        return new Snapshot(snapArena, copy, positions, kvDim, layers);
    }

    /** Puts a snapshot's rows back at positions 0 .. snapshot.positions()-1. */
    public void restore(Snapshot snapshot) {
        if (snapshot.kvDim != kvDim || snapshot.layers != layers || snapshot.positions > contextLength) {
            throw new IllegalArgumentException("snapshot does not fit this cache");
        }
        long span = snapshot.positions * rowBytes;
        for (int l = 0; l < layers; l++) {
            MemorySegment.copy(snapshot.memory, (2L * l) * span, memory, keyRow(l, 0), span);
            MemorySegment.copy(snapshot.memory, (2L * l + 1) * span, memory, valueRow(l, 0), span);
        }
    }

    @Override
    public void close() { arena.close(); }

    /** Cached keys and values of a prompt prefix, off-heap; close it when no longer needed. */
    public static final class Snapshot implements AutoCloseable {
        private final Arena arena;
        private final MemorySegment memory;
        private final int positions;
        private final int kvDim;
        private final int layers;

        Snapshot(Arena arena, MemorySegment memory, int positions, int kvDim, int layers) {
            this.arena = arena;
            this.memory = memory;
            this.positions = positions;
            this.kvDim = kvDim;
            this.layers = layers;
        }

        public int positions() { return positions; }

        public long byteSize() { return memory.byteSize(); }

        @Override
        public void close() { arena.close(); }
    }
}
