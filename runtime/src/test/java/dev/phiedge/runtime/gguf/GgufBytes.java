package dev.phiedge.runtime.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Hand-assembles GGUF bytes for tests, independently of {@link GgufWriter}: every field is written
 * explicitly, little-endian, as ggml's docs/gguf.md lays it out. {@link #position()} lets a test
 * remember where a field starts, so that it can check the offset a {@link GgufFormatException} names.
 */
final class GgufBytes {
    // Value type ids from gguf.md (enum gguf_metadata_value_type).
    static final int UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
            BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12;
    // ggml_type ids from ggml.h.
    static final int T_F32 = 0, T_F16 = 1, T_Q8_0 = 8, T_Q4_K = 12, T_I8 = 24, T_F64 = 28;

    private ByteBuffer buf = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);

    private ByteBuffer room(int bytes) {
        if (buf.remaining() < bytes) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + bytes))
                    .order(ByteOrder.LITTLE_ENDIAN);
            bigger.put(buf.flip());
            buf = bigger;
        }
        return buf;
    }

    /** The standard header: magic "GGUF", version, tensor count, metadata count. */
    static GgufBytes header(int version, long tensorCount, long kvCount) {
        return new GgufBytes().bytes("GGUF".getBytes(StandardCharsets.US_ASCII)).u32(version).u64(tensorCount).u64(kvCount);
    }

    int position() { return buf.position(); }

    GgufBytes u8(int v) { room(1).put((byte) v); return this; }
    GgufBytes u16(int v) { room(2).putShort((short) v); return this; }
    GgufBytes u32(int v) { room(4).putInt(v); return this; }
    GgufBytes u64(long v) { room(8).putLong(v); return this; }
    GgufBytes f32(float v) { room(4).putFloat(v); return this; }
    GgufBytes f64(double v) { room(8).putDouble(v); return this; }
    GgufBytes bytes(byte[] b) { room(b.length).put(b); return this; }

    /** A GGUF string: uint64 byte length, then UTF-8 bytes without a terminator. */
    GgufBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return u64(b.length).bytes(b);
    }

    /** A key and its value type; the caller writes the value. */
    GgufBytes key(String key, int type) { return str(key).u32(type); }

    /** An array header: element type and count; the caller writes the elements. */
    GgufBytes arrayOf(int elementType, long count) { return u32(elementType).u64(count); }

    /** A tensor info: name, n_dims, ne[], ggml type, data offset. */
    GgufBytes tensorInfo(String name, int type, long offset, long... ne) {
        str(name).u32(ne.length);
        for (long d : ne) u64(d);
        return u32(type).u64(offset);
    }

    /** Zero bytes up to the next multiple of {@code alignment}. */
    GgufBytes padTo(int alignment) {
        while (position() % alignment != 0) u8(0);
        return this;
    }

    GgufBytes zeros(int n) { room(n).put(new byte[n]); return this; }

    byte[] toArray() { return Arrays.copyOf(buf.array(), buf.position()); }

    Path writeTo(Path file) throws IOException {
        Files.write(file, toArray());
        return file;
    }
}
