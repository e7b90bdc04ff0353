package dev.phiedge.runtime.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file, mapped into memory once and read in place.
 *
 * <p>Layout (GGUF v2/v3, ggml docs/gguf.md), all little-endian:
 * <pre>
 *   uint32 magic "GGUF" | uint32 version | uint64 tensor_count | uint64 kv_count
 *   kv_count x  { string key | uint32 value_type | value }
 *   tensor_count x { string name | uint32 n_dims | uint64 ne[n_dims] | uint32 ggml_type | uint64 offset }
 *   padding to general.alignment (default 32)
 *   tensor data; each tensor at data_start + offset, offsets aligned to general.alignment
 * </pre>
 * A string is uint64 length + UTF-8 bytes (no terminator); an array is uint32 element type + uint64
 * count + elements. The whole file is one read-only {@link MemorySegment} (files over 2 GiB work),
 * and {@link #tensorData} returns slices of it: weights are never copied onto the heap.
 *
 * <p>Every malformed header produces one {@link GgufFormatException} naming the file, the offset and
 * the problem; sizes are checked against the file length before anything is allocated.
 */
public final class GgufFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    public static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;       // GGML_MAX_DIMS
    private static final long MAX_STRING = 1L << 30;
    /** Arrays of arrays nest at most this deep; deeper nesting is refused rather than overflowing the stack. */
    private static final int MAX_ARRAY_DEPTH = 16;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final int alignment;
    private final long dataStart;

    private GgufFile(Path path, Arena arena, MemorySegment file, int version, Map<String, GgufValue> metadata,
                     Map<String, GgufTensorInfo> tensors, int alignment, long dataStart) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.alignment = alignment;
        this.dataStart = dataStart;
    }

    /** Maps and parses the file. The mapping lives until {@link #close()}. */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new Parser(path, asPlainNativeSegment(mapped, arena)).parse(arena);
        } catch (RuntimeException | IOException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The same mapped bytes (no copy) as a plain native segment, read-only, living as long as
     * {@code arena}. Why: C2 compiles the kernels with the JDK's type profiles of segment access, which
     * every caller shares; with weights in a mapped segment (MappedMemorySegmentImpl) and the KV cache
     * and buffers in allocated ones (NativeMemorySegmentImpl) both flowing through the same Vector API
     * loads, the kernels are compiled with type checks and run at up to half speed. Rule: one segment
     * class everywhere a kernel reads, which keeps them monomorphic (docs/kernels.md). {@code reinterpret} is a restricted method: the jars' manifests and the launchers
     * enable native access ({@code --enable-native-access=ALL-UNNAMED}; without it the JDK warns once).
     */
    private static MemorySegment asPlainNativeSegment(MemorySegment mapped, Arena arena) {
        return MemorySegment.ofAddress(mapped.address()).reinterpret(mapped.byteSize(), arena, null).asReadOnly();
    }

    public Path path() { return path; }

    public int version() { return version; }

    public int alignment() { return alignment; }

    /** Offset of the tensor data section in the file. */
    public long dataStart() { return dataStart; }

    public long fileSize() { return file.byteSize(); }

    /** Metadata in file order. */
    public Map<String, GgufValue> metadata() { return metadata; }

    /** Tensor infos in file order. */
    public List<GgufTensorInfo> tensors() { return List.copyOf(tensors.values()); }

    /** The tensor with this name, or null. */
    public GgufTensorInfo tensor(String name) { return tensors.get(name); }

    /** The tensor's bytes, a slice of the mapped file (zero copy). */
    public MemorySegment tensorData(GgufTensorInfo info) {
        return file.asSlice(dataStart + info.offset(), info.byteSize());
    }

    /** The whole mapped file. */
    public MemorySegment segment() { return file; }

    public boolean has(String key) { return metadata.containsKey(key); }

    public GgufValue value(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) throw new GgufFormatException(path, 0, "missing metadata key '" + key + "'");
        return v;
    }

    public String getString(String key) {
        return expect(key, String.class);
    }

    public String getString(String key, String fallback) {
        return has(key) ? getString(key) : fallback;
    }

    public long getLong(String key) {
        Object v = value(key).value();
        if (v instanceof Integer i) return i;
        if (v instanceof Long l) return l;
        throw wrongType(key, "an integer");
    }

    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new GgufFormatException(path, 0, "metadata '" + key + "' = " + v + " does not fit an int");
        }
        return (int) v;
    }

    public int getInt(String key, int fallback) { return has(key) ? getInt(key) : fallback; }

    public float getFloat(String key) {
        Object v = value(key).value();
        if (v instanceof Float f) return f;
        if (v instanceof Double d) return d.floatValue();
        if (v instanceof Integer i) return i;
        if (v instanceof Long l) return l;
        throw wrongType(key, "a number");
    }

    public float getFloat(String key, float fallback) { return has(key) ? getFloat(key) : fallback; }

    public boolean getBoolean(String key, boolean fallback) {
        return has(key) ? expect(key, Boolean.class) : fallback;
    }

    public String[] getStringArray(String key) { return expect(key, String[].class); }

    public float[] getFloatArray(String key) { return expect(key, float[].class); }

    /** An integer array of any width, as ints. */
    public int[] getIntArray(String key) {
        Object v = value(key).value();
        if (v instanceof int[] a) return a;
        if (v instanceof long[] a) {
            int[] out = new int[a.length];
            for (int i = 0; i < a.length; i++) out[i] = Math.toIntExact(a[i]);
            return out;
        }
        throw wrongType(key, "an integer array");
    }

    private <T> T expect(String key, Class<T> type) {
        Object v = value(key).value();
        if (!type.isInstance(v)) throw wrongType(key, type.getSimpleName());
        return type.cast(v);
    }

    private GgufFormatException wrongType(String key, String wanted) {
        return new GgufFormatException(path, 0, "metadata '" + key + "' is " + value(key).type()
                + (value(key).elementType() != null ? " of " + value(key).elementType() : "") + ", expected " + wanted);
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Reads the header sequentially; every read is bounds-checked against the file. */
    private static final class Parser {
        private final Path path;
        private final MemorySegment seg;
        private final long size;
        private long pos;

        Parser(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        GgufFile parse(Arena arena) {
            need(4, "the magic number");
            int magic = seg.get(U32, 0);
            if (magic != MAGIC) {
                throw fail(0, String.format("wrong magic 0x%08x, expected 0x%08x (\"GGUF\"): not a GGUF file", magic, MAGIC));
            }
            pos = 4;
            int version = u32("the version");
            if (version != 2 && version != 3) {
                throw fail(4, "unsupported GGUF version " + Integer.toUnsignedString(version) + " (supported: 2, 3)");
            }
            long tensorCount = u64("the tensor count");
            long kvCount = u64("the metadata count");
            // Each tensor info takes at least 8+4+8+4+8 bytes and each key/value at least 8+4+1.
            if (tensorCount < 0 || tensorCount > (size - pos) / 32) {
                throw fail(8, "tensor count " + Long.toUnsignedString(tensorCount) + " is impossible for a file of " + size + " bytes");
            }
            if (kvCount < 0 || kvCount > (size - pos) / 13) {
                throw fail(16, "metadata count " + Long.toUnsignedString(kvCount) + " is impossible for a file of " + size + " bytes");
            }

            Map<String, GgufValue> metadata = new LinkedHashMap<>();
            long alignmentAt = -1;
            for (long i = 0; i < kvCount; i++) {
                long at = pos;
                String key = string("metadata key #" + i);
                int typeId = u32("the type of '" + key + "'");
                GgufValueType type = GgufValueType.byId(typeId);
                if (type == null) throw fail(pos - 4, "unknown metadata value type " + typeId + " for key '" + key + "'");
                if (metadata.containsKey(key)) throw fail(at, "duplicate metadata key '" + key + "'");
                if (key.equals("general.alignment")) alignmentAt = at;
                metadata.put(key, value(type, key, 0));
            }

            int alignment = DEFAULT_ALIGNMENT;
            GgufValue align = metadata.get("general.alignment");
            if (align != null) {
                // An integer (gguf.h stores it as uint32), a power of two, and not absurdly large.
                boolean integer = align.value() instanceof Integer || align.value() instanceof Long;
                long n = integer ? ((Number) align.value()).longValue() : 0;
                if (n <= 0 || Long.bitCount(n) != 1 || n > (1 << 20)) {
                    throw fail(alignmentAt, "general.alignment must be a positive power of two (at most 2^20), got "
                            + align.type() + " " + align.display(4));
                }
                alignment = ((Number) align.value()).intValue();
            }

            Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
            List<Long> infoOffsets = new ArrayList<>();
            for (long i = 0; i < tensorCount; i++) {
                long at = pos;
                String name = string("tensor name #" + i);
                int nDims = u32("the dimension count of '" + name + "'");
                if (nDims < 1 || nDims > MAX_DIMS) throw fail(pos - 4, "tensor '" + name + "' has " + Integer.toUnsignedString(nDims) + " dimensions (1 to " + MAX_DIMS + " allowed)");
                long[] shape = new long[nDims];
                long elements = 1;
                for (int d = 0; d < nDims; d++) {
                    shape[d] = u64("dimension " + d + " of '" + name + "'");
                    if (shape[d] <= 0 || shape[d] > size * 256 /* no block packs more weights per byte */) {
                        throw fail(pos - 8, "tensor '" + name + "' has absurd dimension " + d + " = " + Long.toUnsignedString(shape[d]));
                    }
                    elements = Math.multiplyHigh(elements, shape[d]) != 0 ? -1 : elements * shape[d];
                    if (elements < 0) throw fail(pos - 8, "tensor '" + name + "' has absurd dimensions: element count overflows");
                }
                int typeId = u32("the type of '" + name + "'");
                GgmlType type = GgmlType.byId(typeId);
                if (type == null) throw fail(pos - 4, "tensor '" + name + "' has unknown ggml type " + typeId);
                if (shape[0] % type.blockSize() != 0) {
                    throw fail(pos - 4, "tensor '" + name + "' row length " + shape[0] + " is not a multiple of the " + type + " block size " + type.blockSize());
                }
                long blocks = elements / type.blockSize();
                if (Math.multiplyHigh(blocks, type.blockBytes()) != 0 || blocks * type.blockBytes() < 0) {
                    throw fail(at, "tensor '" + name + "' has absurd dimensions: " + type + " x " + elements + " elements overflows the byte count");
                }
                long offset = u64("the data offset of '" + name + "'");
                if (offset < 0 || offset % alignment != 0) {
                    throw fail(pos - 8, "tensor '" + name + "' data offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment " + alignment);
                }
                if (tensors.containsKey(name)) throw fail(at, "duplicate tensor name '" + name + "'");
                tensors.put(name, new GgufTensorInfo(name, type, shape, offset));
                infoOffsets.add(at);
            }

            long dataStart = alignUp(pos, alignment);
            if (dataStart > size && !tensors.isEmpty()) {
                throw fail(pos, "file ends before the tensor data section (expected at offset " + dataStart + ")");
            }
            int index = 0;
            for (GgufTensorInfo t : tensors.values()) {
                long bytes = t.byteSize();
                long end = dataStart + t.offset() + bytes;
                if (t.offset() > size || bytes > size - dataStart - t.offset() || end > size || end < 0) {
                    throw fail(infoOffsets.get(index), "tensor '" + t.name() + "' (" + t.type() + ", " + bytes + " bytes at data offset "
                            + t.offset() + ") extends past the end of the file: needs " + end + " bytes, file has " + size);
                }
                index++;
            }
            return new GgufFile(path, arena, seg, version, Collections.unmodifiableMap(metadata),
                    Collections.unmodifiableMap(tensors), alignment, dataStart);
        }

        private GgufValue value(GgufValueType type, String key, int depth) {
            if (type != GgufValueType.ARRAY) return new GgufValue(type, null, scalar(type, key));
            long at = pos;
            if (depth >= MAX_ARRAY_DEPTH) throw fail(at, "arrays in '" + key + "' nest deeper than " + MAX_ARRAY_DEPTH + " levels");
            int elementId = u32("the element type of array '" + key + "'");
            GgufValueType element = GgufValueType.byId(elementId);
            if (element == null) throw fail(at, "unknown array element type " + elementId + " for key '" + key + "'");
            long count = u64("the length of array '" + key + "'");
            if (count < 0 || count > (size - pos) / element.minBytes()) {
                throw fail(pos - 8, "array '" + key + "' claims " + Long.toUnsignedString(count) + " elements of " + element + ", more than the file can hold");
            }
            int n = (int) count;
            Object array = switch (element) {
                case UINT8, INT8, UINT16, INT16, INT32 -> {
                    int[] a = new int[n];
                    for (int i = 0; i < n; i++) a[i] = (Integer) scalar(element, key);
                    yield a;
                }
                case UINT32, UINT64, INT64 -> {
                    long[] a = new long[n];
                    for (int i = 0; i < n; i++) a[i] = (Long) scalar(element, key);
                    yield a;
                }
                case FLOAT32 -> {
                    float[] a = new float[n];
                    for (int i = 0; i < n; i++) a[i] = (Float) scalar(element, key);
                    yield a;
                }
                case FLOAT64 -> {
                    double[] a = new double[n];
                    for (int i = 0; i < n; i++) a[i] = (Double) scalar(element, key);
                    yield a;
                }
                case BOOL -> {
                    boolean[] a = new boolean[n];
                    for (int i = 0; i < n; i++) a[i] = (Boolean) scalar(element, key);
                    yield a;
                }
                case STRING -> {
                    String[] a = new String[n];
                    for (int i = 0; i < n; i++) a[i] = string("element " + i + " of '" + key + "'");
                    yield a;
                }
                case ARRAY -> {
                    GgufValue[] a = new GgufValue[n];
                    for (int i = 0; i < n; i++) a[i] = value(GgufValueType.ARRAY, key + "[" + i + "]", depth + 1);
                    yield a;
                }
            };
            return new GgufValue(GgufValueType.ARRAY, element, array);
        }

        private Object scalar(GgufValueType type, String key) {
            String what = "the value of '" + key + "'";
            return switch (type) {
                case UINT8 -> Byte.toUnsignedInt(u8(what));
                case INT8 -> (int) u8(what);
                case UINT16 -> Short.toUnsignedInt(u16(what));
                case INT16 -> (int) u16(what);
                case UINT32 -> Integer.toUnsignedLong(u32(what));
                case INT32 -> u32(what);
                case UINT64, INT64 -> u64(what);
                case FLOAT32 -> { need(4, what); float f = seg.get(F32, pos); pos += 4; yield f; }
                case FLOAT64 -> { need(8, what); double d = seg.get(F64, pos); pos += 8; yield d; }
                case BOOL -> {
                    byte b = u8(what);
                    if (b != 0 && b != 1) throw fail(pos - 1, "boolean " + what + " is " + b + ", expected 0 or 1");
                    yield b == 1;
                }
                case STRING -> string(what);
                case ARRAY -> throw new IllegalStateException("arrays are read by value()");
            };
        }

        private String string(String what) {
            long at = pos;
            long len = u64("the length of " + what);
            if (len < 0 || len > MAX_STRING || len > size - pos) {
                throw fail(at, "string length " + Long.toUnsignedString(len) + " of " + what + " runs past the end of the file (" + size + " bytes)");
            }
            byte[] bytes = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                // Vocabularies do hold raw byte pieces; keep them readable rather than failing.
                return new String(bytes, StandardCharsets.UTF_8);
            }
        }

        private byte u8(String what) { need(1, what); return seg.get(ValueLayout.JAVA_BYTE, pos++); }

        private short u16(String what) { need(2, what); short v = seg.get(U16, pos); pos += 2; return v; }

        private int u32(String what) { need(4, what); int v = seg.get(U32, pos); pos += 4; return v; }

        private long u64(String what) { need(8, what); long v = seg.get(U64, pos); pos += 8; return v; }

        private void need(long bytes, String what) {
            if (pos + bytes > size) throw fail(pos, "file is truncated: it ends while reading " + what + " (" + size + " bytes in all)");
        }

        private GgufFormatException fail(long offset, String problem) {
            return new GgufFormatException(path, offset, problem);
        }
    }

    static long alignUp(long value, int alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }
}
