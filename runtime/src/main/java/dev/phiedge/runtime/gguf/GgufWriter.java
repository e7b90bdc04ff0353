package dev.phiedge.runtime.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF v3 file (layout in {@link GgufFile}), streaming: tensor data is produced one tensor
 * at a time by a {@link TensorSource}, so a multi-gigabyte synthetic model never sits in memory.
 *
 * <pre>
 *   GgufWriter w = new GgufWriter();
 *   w.put("general.architecture", GgufValue.of("phi3"));
 *   w.addTensor("output_norm.weight", GgmlType.F32, new long[]{256}, out -> out.putFloats(...));
 *   w.write(path);
 * </pre>
 */
public final class GgufWriter {

    /** Writes exactly the tensor's byte size into {@code out}. */
    @FunctionalInterface
    public interface TensorSource {
        void write(TensorOutput out) throws IOException;
    }

    private record PendingTensor(String name, GgmlType type, long[] shape, TensorSource source) {
        long bytes() { return type.bytesFor(new GgufTensorInfo(name, type, shape, 0).elementCount()); }
    }

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private int alignment = GgufFile.DEFAULT_ALIGNMENT;

    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        if (key.equals("general.alignment")) alignment = ((Number) value.value()).intValue();
        return this;
    }

    /** Copies every metadata entry of {@code source} whose key starts with {@code prefix}. */
    public GgufWriter copyMetadata(GgufFile source, String prefix) {
        source.metadata().forEach((k, v) -> { if (k.startsWith(prefix)) put(k, v); });
        return this;
    }

    public GgufWriter addTensor(String name, GgmlType type, long[] shape, TensorSource source) {
        tensors.add(new PendingTensor(name, type, shape.clone(), source));
        return this;
    }

    public void write(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            TensorOutput out = new TensorOutput(ch);
            out.putInt(GgufFile.MAGIC);
            out.putInt(3);
            out.putLong(tensors.size());
            out.putLong(metadata.size());
            for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
                out.putString(e.getKey());
                out.putInt(e.getValue().type().id());
                putValue(out, e.getValue());
            }
            long offset = 0;
            for (PendingTensor t : tensors) {
                out.putString(t.name);
                out.putInt(t.shape.length);
                for (long d : t.shape) out.putLong(d);
                out.putInt(t.type.id());
                out.putLong(offset);
                offset = GgufFile.alignUp(offset + t.bytes(), alignment);
            }
            out.padTo(alignment);
            for (PendingTensor t : tensors) {
                long start = out.position();
                t.source.write(out);
                long written = out.position() - start;
                if (written != t.bytes()) {
                    throw new IOException("tensor '" + t.name + "' wrote " + written + " bytes, expected " + t.bytes());
                }
                out.padTo(alignment);
            }
            out.flush();
        }
    }

    private static void putValue(TensorOutput out, GgufValue v) throws IOException {
        if (v.type() != GgufValueType.ARRAY) {
            putScalar(out, v.type(), v.value());
            return;
        }
        out.putInt(v.elementType().id());
        out.putLong(v.length());
        switch (v.value()) {
            case int[] a -> { for (int x : a) putScalar(out, v.elementType(), x); }
            case long[] a -> { for (long x : a) putScalar(out, v.elementType(), x); }
            case float[] a -> { for (float x : a) out.putFloat(x); }
            case double[] a -> { for (double x : a) out.putDouble(x); }
            case boolean[] a -> { for (boolean x : a) out.putByte(x ? 1 : 0); }
            case String[] a -> { for (String x : a) out.putString(x); }
            case GgufValue[] a -> {
                for (GgufValue x : a) {
                    putValue(out, x);
                }
            }
            default -> throw new IllegalArgumentException("unsupported array value " + v.value().getClass());
        }
    }

    private static void putScalar(TensorOutput out, GgufValueType type, Object value) throws IOException {
        switch (type) {
            case UINT8, INT8 -> out.putByte(((Number) value).intValue());
            case UINT16, INT16 -> out.putShort(((Number) value).intValue());
            case UINT32, INT32 -> out.putInt(((Number) value).intValue());
            case UINT64, INT64 -> out.putLong(((Number) value).longValue());
            case FLOAT32 -> out.putFloat(((Number) value).floatValue());
            case FLOAT64 -> out.putDouble(((Number) value).doubleValue());
            case BOOL -> out.putByte((Boolean) value ? 1 : 0);
            case STRING -> out.putString((String) value);
            case ARRAY -> throw new IllegalArgumentException("nested array passed as scalar");
        }
    }

    /** A little-endian buffered writer over a file channel. */
    public static final class TensorOutput {
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long flushed;

        TensorOutput(FileChannel channel) { this.channel = channel; }

        public long position() { return flushed + buffer.position(); }

        private void ensure(int bytes) throws IOException {
            if (buffer.remaining() < bytes) flush();
        }

        public void putByte(int b) throws IOException { ensure(1); buffer.put((byte) b); }

        public void putShort(int s) throws IOException { ensure(2); buffer.putShort((short) s); }

        public void putInt(int i) throws IOException { ensure(4); buffer.putInt(i); }

        public void putLong(long l) throws IOException { ensure(8); buffer.putLong(l); }

        public void putFloat(float f) throws IOException { ensure(4); buffer.putFloat(f); }

        public void putDouble(double d) throws IOException { ensure(8); buffer.putDouble(d); }

        public void putFloats(float[] values) throws IOException { for (float f : values) putFloat(f); }

        public void putBytes(byte[] bytes) throws IOException { putBytes(bytes, 0, bytes.length); }

        public void putBytes(byte[] bytes, int off, int len) throws IOException {
            while (len > 0) {
                ensure(1);
                int n = Math.min(len, buffer.remaining());
                buffer.put(bytes, off, n);
                off += n;
                len -= n;
            }
        }

        void putString(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            putLong(b.length);
            putBytes(b);
        }

        void padTo(int alignment) throws IOException {
            while (position() % alignment != 0) putByte(0);
        }

        void flush() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) flushed += channel.write(buffer);
            buffer.clear();
        }
    }
}
