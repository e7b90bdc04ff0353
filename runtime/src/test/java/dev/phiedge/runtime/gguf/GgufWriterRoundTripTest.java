package dev.phiedge.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** GgufWriter output read back by GgufFile: same metadata, same tensor bytes, aligned offsets. */
class GgufWriterRoundTripTest {

    @TempDir
    Path dir;

    /** One value of every metadata kind, arrays of each and an array of arrays. */
    static Map<String, GgufValue> everyKindOfValue() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.of("phi3"));
        m.put("s.u8", new GgufValue(GgufValueType.UINT8, null, 200));
        m.put("s.i8", new GgufValue(GgufValueType.INT8, null, -100));
        m.put("s.u16", new GgufValue(GgufValueType.UINT16, null, 60000));
        m.put("s.i16", new GgufValue(GgufValueType.INT16, null, -20000));
        m.put("s.u32", GgufValue.ofUInt32(3_000_000_000L));
        m.put("s.i32", GgufValue.ofInt32(-7));
        m.put("s.u64", new GgufValue(GgufValueType.UINT64, null, -1L));
        m.put("s.i64", new GgufValue(GgufValueType.INT64, null, 1L << 40));
        m.put("s.f32", GgufValue.ofFloat32(1e-5f));
        m.put("s.f64", new GgufValue(GgufValueType.FLOAT64, null, -2.5e-300));
        m.put("s.bool", GgufValue.ofBool(true));
        m.put("s.str", GgufValue.of("<|user|> ▁Hello 🙂"));
        m.put("a.u8", new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT8, new int[] {0, 255}));
        m.put("a.i8", new GgufValue(GgufValueType.ARRAY, GgufValueType.INT8, new int[] {-128, 5}));
        m.put("a.u16", new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT16, new int[] {65535}));
        m.put("a.i16", new GgufValue(GgufValueType.ARRAY, GgufValueType.INT16, new int[] {-1, 1}));
        m.put("a.u32", new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT32, new long[] {4294967295L, 0}));
        m.put("a.i32", GgufValue.ofInt32s(new int[] {1, 2, 3}));
        m.put("a.u64", new GgufValue(GgufValueType.ARRAY, GgufValueType.UINT64, new long[] {Long.MIN_VALUE}));
        m.put("a.i64", new GgufValue(GgufValueType.ARRAY, GgufValueType.INT64, new long[] {-5, 5}));
        m.put("a.f32", GgufValue.ofFloats(new float[] {0.5f, Float.NaN, -0f}));
        m.put("a.f64", new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT64, new double[] {Double.MAX_VALUE}));
        m.put("a.bool", new GgufValue(GgufValueType.ARRAY, GgufValueType.BOOL, new boolean[] {false, true}));
        m.put("a.str", GgufValue.ofStrings(new String[] {"<s>", "", "ü"}));
        m.put("a.empty", GgufValue.ofStrings(new String[0]));
        m.put("a.arr", new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY, new GgufValue[] {
            GgufValue.ofInt32s(new int[] {7}),
            GgufValue.ofStrings(new String[] {"x", "y"}),
            new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY, new GgufValue[] {GgufValue.ofFloats(new float[] {1f})})}));
        return m;
    }

    private record Tensor(String name, GgmlType type, long[] shape, byte[] bytes) {}

    /** Tensors whose sizes are not multiples of the alignment, so the padding between them is exercised. */
    private static List<Tensor> someTensors(long seed) {
        Random r = new Random(seed);
        List<Tensor> list = new ArrayList<>();
        Object[][] specs = {
            {"a.f32", GgmlType.F32, new long[] {5}},
            {"b.q8_0", GgmlType.Q8_0, new long[] {32, 3}},
            {"c.f16", GgmlType.F16, new long[] {3, 1, 1, 1}},
            {"d.q4_k", GgmlType.Q4_K, new long[] {256, 2}},
            {"e.q6_k", GgmlType.Q6_K, new long[] {256}},
            {"f.bf16", GgmlType.BF16, new long[] {7, 3}},
        };
        for (Object[] s : specs) {
            GgmlType type = (GgmlType) s[1];
            long[] shape = (long[]) s[2];
            byte[] bytes = new byte[(int) type.bytesFor(Arrays.stream(shape).reduce(1, Math::multiplyExact))];
            r.nextBytes(bytes);
            list.add(new Tensor((String) s[0], type, shape, bytes));
        }
        return list;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 64, 128})
    void writtenFileReadsBackWithIdenticalMetadataAndTensorBytes(int alignment) throws IOException {
        GgufWriter w = new GgufWriter();
        Map<String, GgufValue> meta = everyKindOfValue();
        if (alignment != 0) meta.put("general.alignment", GgufValue.ofUInt32(alignment));
        meta.forEach(w::put);
        List<Tensor> tensors = someTensors(alignment);
        for (Tensor t : tensors) w.addTensor(t.name, t.type, t.shape, out -> out.putBytes(t.bytes));
        Path file = dir.resolve("rt.gguf");
        w.write(file);

        int expectedAlignment = alignment == 0 ? GgufFile.DEFAULT_ALIGNMENT : alignment;
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(3, g.version());
            assertEquals(expectedAlignment, g.alignment());
            assertEquals(0, g.dataStart() % expectedAlignment, "data section aligned");
            assertEquals(new ArrayList<>(meta.keySet()), new ArrayList<>(g.metadata().keySet()), "keys in order");
            for (var e : meta.entrySet()) assertSameValue(e.getValue(), g.value(e.getKey()), e.getKey());

            assertEquals(tensors.stream().map(Tensor::name).toList(), g.tensors().stream().map(GgufTensorInfo::name).toList());
            long previousEnd = 0;
            for (Tensor t : tensors) {
                GgufTensorInfo info = g.tensor(t.name);
                assertEquals(t.type, info.type(), t.name);
                assertArrayEquals(t.shape, info.shape(), t.name);
                assertEquals(0, info.offset() % expectedAlignment, t.name + " offset aligned");
                assertEquals(GgufFile.alignUp(previousEnd, expectedAlignment), info.offset(), t.name + " packed after the previous tensor");
                previousEnd = info.offset() + info.byteSize();
                assertArrayEquals(t.bytes, g.tensorData(info).toArray(ValueLayout.JAVA_BYTE), t.name + " bytes");
            }
        }
    }

    @Test
    void fileWithoutTensorsRoundTrips() throws IOException {
        Path file = dir.resolve("meta-only.gguf");
        new GgufWriter().put("general.name", GgufValue.of("x")).write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals("x", g.getString("general.name"));
            assertEquals(0, g.tensors().size());
        }
    }

    @Test
    void writingLargeTensorsStreamsThroughTheBuffer() throws IOException {
        // 3 MiB of F32, more than the writer's 1 MiB buffer, written in odd-sized pieces.
        int n = 3 << 18;
        Path file = dir.resolve("big.gguf");
        new GgufWriter().addTensor("big", GgmlType.F32, new long[] {n}, out -> {
            for (int i = 0; i < n; i++) out.putFloat(i);
        }).addTensor("tail", GgmlType.F32, new long[] {1}, out -> out.putFloat(-1f)).write(file);
        try (GgufFile g = GgufFile.open(file)) {
            var big = g.tensorData(g.tensor("big"));
            var f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i += 4099) assertEquals((float) i, big.getAtIndex(f32, i));
            assertEquals((float) (n - 1), big.getAtIndex(f32, n - 1));
            assertEquals(-1f, g.tensorData(g.tensor("tail")).get(f32, 0));
        }
    }

    @Test
    void tensorSourceWritingTheWrongByteCountIsRefused() {
        Path file = dir.resolve("short.gguf");
        GgufWriter w = new GgufWriter().addTensor("t", GgmlType.F32, new long[] {4}, out -> out.putFloat(1f));
        IOException e = assertThrows(IOException.class, () -> w.write(file));
        assertTrue(e.getMessage().contains("'t'"), e.getMessage());
    }

    @Test
    void referenceModelMetadataCopiesThroughTheWriterUnchanged() throws IOException {
        Path source = GgufTestSupport.testdata("tokenizer/ggml-vocab-phi-3.gguf");
        Path copy = dir.resolve("vocab-copy.gguf");
        try (GgufFile g = GgufFile.open(source)) {
            new GgufWriter().copyMetadata(g, "").write(copy);
            try (GgufFile c = GgufFile.open(copy)) {
                assertEquals(new ArrayList<>(g.metadata().keySet()), new ArrayList<>(c.metadata().keySet()));
                for (var e : g.metadata().entrySet()) assertSameValue(e.getValue(), c.value(e.getKey()), e.getKey());
            }
        }
        // The writer lays out a file exactly as llama.cpp's writer did: same bytes up to the padding.
        byte[] a = Files.readAllBytes(source);
        byte[] b = Files.readAllBytes(copy);
        int common = Math.min(a.length, b.length);
        assertArrayEquals(Arrays.copyOf(a, common), Arrays.copyOf(b, common));
    }

    /** Deep equality of two metadata values: type, element type and contents (NaN and -0 by bits). */
    static void assertSameValue(GgufValue expected, GgufValue actual, String key) {
        assertEquals(expected.type(), actual.type(), key + " type");
        assertEquals(expected.elementType(), actual.elementType(), key + " element type");
        switch (expected.value()) {
            case int[] e -> assertArrayEquals(e, (int[]) actual.value(), key);
            case long[] e -> assertArrayEquals(e, (long[]) actual.value(), key);
            case float[] e -> assertArrayEquals(e, (float[]) actual.value(), key);
            case double[] e -> assertArrayEquals(e, (double[]) actual.value(), key);
            case boolean[] e -> assertArrayEquals(e, (boolean[]) actual.value(), key);
            case String[] e -> assertArrayEquals(e, (String[]) actual.value(), key);
            case GgufValue[] e -> {
                GgufValue[] a = (GgufValue[]) actual.value();
                assertEquals(e.length, a.length, key + " length");
                for (int i = 0; i < e.length; i++) assertSameValue(e[i], a[i], key + "[" + i + "]");
            }
            default -> assertEquals(expected.value(), actual.value(), key);
        }
    }
}
