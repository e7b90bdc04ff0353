package dev.phiedge.runtime.gguf;

import static dev.phiedge.runtime.gguf.GgufBytes.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Files assembled byte by byte from the GGUF spec (ggml docs/gguf.md): every metadata value type,
 * arrays of each, an array of arrays, and a custom {@code general.alignment} of 64. v2 and v3 share
 * this layout (v3 only added big-endian files, which are not supported here).
 */
class GgufHandBuiltFileTest {

    private static final ValueLayout.OfFloat F32LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    /** Where the hand-built header ends, before the padding to 64. */
    private long headerEnd;

    /** The header, with a string padded so that 32- and 64-byte alignment give different data starts. */
    private static GgufBytes build(int version, int pad) {
        GgufBytes b = GgufBytes.header(version, 2, 30);
        b.key("general.alignment", UINT32).u32(64);
        b.key("t.u8", UINT8).u8(0xFF);
        b.key("t.i8", INT8).u8(0xFE);
        b.key("t.u16", UINT16).u16(0xFFFF);
        b.key("t.i16", INT16).u16(-300);
        b.key("t.u32", UINT32).u32(0xFFFFFFFF);
        b.key("t.i32", INT32).u32(-123456789);
        b.key("t.u64", UINT64).u64(-1L);
        b.key("t.i64", INT64).u64(Long.MIN_VALUE);
        b.key("t.f32", FLOAT32).f32(-1.5f);
        b.key("t.f64", FLOAT64).f64(Math.PI);
        b.key("t.true", BOOL).u8(1);
        b.key("t.false", BOOL).u8(0);
        b.key("t.str", STRING).str("héllo ✓ 𝄞");
        b.key("t.empty", STRING).str("");
        b.key("t.a.u8", ARRAY).arrayOf(UINT8, 3).u8(0).u8(128).u8(255);
        b.key("t.a.i8", ARRAY).arrayOf(INT8, 2).u8(-128).u8(127);
        b.key("t.a.u16", ARRAY).arrayOf(UINT16, 2).u16(1).u16(0xFFFF);
        b.key("t.a.i16", ARRAY).arrayOf(INT16, 2).u16(-32768).u16(32767);
        b.key("t.a.u32", ARRAY).arrayOf(UINT32, 2).u32(7).u32(0x80000000);
        b.key("t.a.i32", ARRAY).arrayOf(INT32, 3).u32(-1).u32(0).u32(Integer.MAX_VALUE);
        b.key("t.a.u64", ARRAY).arrayOf(UINT64, 1).u64(-2L);
        b.key("t.a.i64", ARRAY).arrayOf(INT64, 2).u64(Long.MIN_VALUE).u64(Long.MAX_VALUE);
        b.key("t.a.f32", ARRAY).arrayOf(FLOAT32, 2).f32(0.25f).f32(Float.NEGATIVE_INFINITY);
        b.key("t.a.f64", ARRAY).arrayOf(FLOAT64, 2).f64(1e300).f64(-0.0);
        b.key("t.a.bool", ARRAY).arrayOf(BOOL, 3).u8(1).u8(0).u8(1);
        b.key("t.a.str", ARRAY).arrayOf(STRING, 3).str("a").str("").str("ü");
        b.key("t.a.empty", ARRAY).arrayOf(FLOAT32, 0);
        // An array of arrays: [[1, 2], [], ["x"]].
        b.key("t.a.arr", ARRAY).arrayOf(ARRAY, 3);
        b.arrayOf(INT32, 2).u32(1).u32(2);
        b.arrayOf(UINT8, 0);
        b.arrayOf(STRING, 1).str("x");
        b.key("t.pad", STRING).str("p".repeat(pad));
        // Tensor infos: offsets relative to the data section, multiples of 64.
        b.tensorInfo("first", T_F32, 0, 3);
        b.tensorInfo("second.weight", T_F16, 64, 2, 2);
        return b;
    }

    private Path writeFile(int version) throws IOException {
        // Pick a pad so that the header end rounds differently to 32 and to 64: a reader that ignored
        // general.alignment would then look for the data in the wrong place.
        int pad = 0;
        while (GgufFile.alignUp(build(version, pad).position(), 32) == GgufFile.alignUp(build(version, pad).position(), 64)) pad++;
        GgufBytes b = build(version, pad);
        headerEnd = b.position();
        b.padTo(64);
        b.f32(1f).f32(-2f).f32(3.5f).padTo(64);
        b.u16(0x3C00).u16(0xC000).u16(0x3800).u16(0x7BFF); // f16: 1, -2, 0.5, 65504
        return b.writeTo(dir.resolve("hand-v" + version + ".gguf"));
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void everyScalarTypeReadsBackWithItsValue(int version) throws IOException {
        try (GgufFile g = GgufFile.open(writeFile(version))) {
            assertEquals(version, g.version());
            assertScalar(g, "t.u8", GgufValueType.UINT8, 255);
            assertScalar(g, "t.i8", GgufValueType.INT8, -2);
            assertScalar(g, "t.u16", GgufValueType.UINT16, 65535);
            assertScalar(g, "t.i16", GgufValueType.INT16, -300);
            assertScalar(g, "t.u32", GgufValueType.UINT32, 4294967295L);
            assertScalar(g, "t.i32", GgufValueType.INT32, -123456789);
            assertEquals(GgufValueType.UINT64, g.value("t.u64").type());
            assertEquals("18446744073709551615", Long.toUnsignedString((Long) g.value("t.u64").value()));
            assertScalar(g, "t.i64", GgufValueType.INT64, Long.MIN_VALUE);
            assertScalar(g, "t.f32", GgufValueType.FLOAT32, -1.5f);
            assertScalar(g, "t.f64", GgufValueType.FLOAT64, Math.PI);
            assertScalar(g, "t.true", GgufValueType.BOOL, true);
            assertScalar(g, "t.false", GgufValueType.BOOL, false);
            assertScalar(g, "t.str", GgufValueType.STRING, "héllo ✓ 𝄞");
            assertScalar(g, "t.empty", GgufValueType.STRING, "");
            assertEquals(-123456789, g.getInt("t.i32"));
            assertEquals(4294967295L, g.getLong("t.u32"));
            assertEquals(-1.5f, g.getFloat("t.f32"));
            assertEquals("héllo ✓ 𝄞", g.getString("t.str"));
            assertEquals(30, g.metadata().size());
            assertEquals("general.alignment", g.metadata().keySet().iterator().next(), "metadata keeps file order");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void arraysOfEveryTypeAndAnArrayOfArraysReadBack(int version) throws IOException {
        try (GgufFile g = GgufFile.open(writeFile(version))) {
            assertArray(g, "t.a.u8", GgufValueType.UINT8, new int[] {0, 128, 255});
            assertArray(g, "t.a.i8", GgufValueType.INT8, new int[] {-128, 127});
            assertArray(g, "t.a.u16", GgufValueType.UINT16, new int[] {1, 65535});
            assertArray(g, "t.a.i16", GgufValueType.INT16, new int[] {-32768, 32767});
            assertArray(g, "t.a.u32", GgufValueType.UINT32, new long[] {7, 2147483648L});
            assertArray(g, "t.a.i32", GgufValueType.INT32, new int[] {-1, 0, Integer.MAX_VALUE});
            assertArray(g, "t.a.u64", GgufValueType.UINT64, new long[] {-2L});
            assertArray(g, "t.a.i64", GgufValueType.INT64, new long[] {Long.MIN_VALUE, Long.MAX_VALUE});
            assertArray(g, "t.a.f32", GgufValueType.FLOAT32, new float[] {0.25f, Float.NEGATIVE_INFINITY});
            assertArray(g, "t.a.f64", GgufValueType.FLOAT64, new double[] {1e300, -0.0});
            assertArray(g, "t.a.bool", GgufValueType.BOOL, new boolean[] {true, false, true});
            assertArray(g, "t.a.str", GgufValueType.STRING, new String[] {"a", "", "ü"});
            assertArray(g, "t.a.empty", GgufValueType.FLOAT32, new float[0]);
            assertArrayEquals(new int[] {-1, 0, Integer.MAX_VALUE}, g.getIntArray("t.a.i32"));
            assertArrayEquals(new int[] {0, 128, 255}, g.getIntArray("t.a.u8"));

            GgufValue nested = g.value("t.a.arr");
            assertEquals(GgufValueType.ARRAY, nested.type());
            assertEquals(GgufValueType.ARRAY, nested.elementType());
            GgufValue[] inner = (GgufValue[]) nested.value();
            assertEquals(3, inner.length);
            assertEquals(new GgufValueTypePair(GgufValueType.ARRAY, GgufValueType.INT32), pair(inner[0]));
            assertArrayEquals(new int[] {1, 2}, (int[]) inner[0].value());
            assertEquals(new GgufValueTypePair(GgufValueType.ARRAY, GgufValueType.UINT8), pair(inner[1]));
            assertEquals(0, inner[1].length());
            assertEquals(new GgufValueTypePair(GgufValueType.ARRAY, GgufValueType.STRING), pair(inner[2]));
            assertArrayEquals(new String[] {"x"}, (String[]) inner[2].value());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void customAlignmentPlacesTheDataSectionAndTensors(int version) throws IOException {
        Path file = writeFile(version);
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(64, g.alignment());
            assertEquals(0, g.dataStart() % 64);
            assertEquals(GgufFile.alignUp(headerEnd, 64), g.dataStart());
            assertNotEquals(GgufFile.alignUp(headerEnd, 32), g.dataStart(), "the test file tells 32 from 64");
            List<GgufTensorInfo> tensors = g.tensors();
            assertEquals(List.of("first", "second.weight"), tensors.stream().map(GgufTensorInfo::name).toList());

            GgufTensorInfo first = g.tensor("first");
            assertEquals(GgmlType.F32, first.type());
            assertArrayEquals(new long[] {3}, first.shape());
            assertEquals(0, first.offset());
            MemorySegment a = g.tensorData(first);
            assertEquals(12, a.byteSize());
            assertEquals(1f, a.get(F32LE, 0));
            assertEquals(-2f, a.get(F32LE, 4));
            assertEquals(3.5f, a.get(F32LE, 8));

            GgufTensorInfo second = g.tensor("second.weight");
            assertEquals(GgmlType.F16, second.type());
            assertArrayEquals(new long[] {2, 2}, second.shape());
            assertEquals(2, second.rows());
            assertEquals(2, second.cols());
            assertEquals(64, second.offset());
            MemorySegment h = g.tensorData(second);
            assertEquals(8, h.byteSize());
            assertEquals(1f, Float.float16ToFloat(h.get(I16LE, 0)));
            assertEquals(-2f, Float.float16ToFloat(h.get(I16LE, 2)));
            assertEquals(0.5f, Float.float16ToFloat(h.get(I16LE, 4)));
            assertEquals(65504f, Float.float16ToFloat(h.get(I16LE, 6)));
            assertEquals(file.toFile().length(), g.fileSize());
            assertNull(g.tensor("third"));
        }
    }

    private record GgufValueTypePair(GgufValueType type, GgufValueType element) {}

    private static GgufValueTypePair pair(GgufValue v) { return new GgufValueTypePair(v.type(), v.elementType()); }

    private static void assertScalar(GgufFile g, String key, GgufValueType type, Object expected) {
        GgufValue v = g.value(key);
        assertEquals(type, v.type(), key);
        assertNull(v.elementType(), key);
        assertEquals(expected, v.value(), key);
    }

    private static void assertArray(GgufFile g, String key, GgufValueType element, Object expected) {
        GgufValue v = g.value(key);
        assertEquals(GgufValueType.ARRAY, v.type(), key);
        assertEquals(element, v.elementType(), key);
        assertEquals(expected.getClass(), v.value().getClass(), key);
        GgufWriterRoundTripTest.assertSameValue(new GgufValue(GgufValueType.ARRAY, element, expected), v, key);
    }
}
