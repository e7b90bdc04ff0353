package dev.phiedge.runtime.gguf;

import static dev.phiedge.runtime.gguf.GgufBytes.*;
import static dev.phiedge.runtime.gguf.GgufTestSupport.expectFormatError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Malformed files: each must fail with exactly one GgufFormatException that names the file, the
 * offset where the problem is and the problem; never an IndexOutOfBounds, OutOfMemoryError,
 * NegativeArraySize, arithmetic overflow, stack overflow or a hang.
 */
class GgufBadFileTest {

    @TempDir
    Path dir;

    private int fileNo;

    private Path write(GgufBytes b) throws IOException {
        return b.writeTo(dir.resolve("bad" + (fileNo++) + ".gguf"));
    }

    private static void assertProblem(GgufFormatException e, long offset, String... words) {
        assertEquals(offset, e.offset(), () -> "offset of: " + e.getMessage());
        String problem = e.problem().toLowerCase(Locale.ROOT);
        for (String w : words) assertTrue(problem.contains(w.toLowerCase(Locale.ROOT)), () -> "'" + w + "' not in: " + e.getMessage());
    }

    /** A valid one-tensor file: metadata from {@code kv}, then tensor info from {@code info}, then 32 bytes of data. */
    private Path oneTensorFile(int kvCount, java.util.function.Consumer<GgufBytes> kv, java.util.function.Consumer<GgufBytes> info)
            throws IOException {
        GgufBytes b = GgufBytes.header(3, 1, kvCount);
        kv.accept(b);
        info.accept(b);
        return write(b.padTo(32).zeros(64));
    }

    @Test
    void controlFileIsValid() throws IOException {
        Path ok = oneTensorFile(1, b -> b.key("general.name", STRING).str("ok"), b -> b.tensorInfo("t", T_F32, 0, 8));
        try (GgufFile g = GgufFile.open(ok)) {
            assertEquals(1, g.tensors().size());
        }
    }

    @Test
    void emptyFileAndWrongMagicAreNotGguf() throws IOException {
        assertProblem(expectFormatError(write(new GgufBytes())), 0, "truncated");
        assertProblem(expectFormatError(write(new GgufBytes().bytes("GG".getBytes()))), 0, "truncated");
        GgufBytes ggml = new GgufBytes().bytes("GGML".getBytes()).u32(3).u64(0).u64(0);
        assertProblem(expectFormatError(write(ggml)), 0, "magic");
        GgufBytes bigEndianMagic = new GgufBytes().bytes("FUGG".getBytes()).u32(3).u64(0).u64(0);
        assertProblem(expectFormatError(write(bigEndianMagic)), 0, "magic");
        assertProblem(expectFormatError(write(new GgufBytes().zeros(100))), 0, "magic");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4, 0x03000000, -1})
    void unsupportedVersionIsNamed(int version) throws IOException {
        GgufFormatException e = expectFormatError(write(GgufBytes.header(version, 0, 0)));
        assertProblem(e, 4, "version", Integer.toUnsignedString(version));
    }

    @Test
    void truncatedHeaderFieldsAreReportedWhereTheyStart() throws IOException {
        assertProblem(expectFormatError(write(new GgufBytes().bytes("GGUF".getBytes()).u16(3))), 4, "truncated", "version");
        assertProblem(expectFormatError(write(new GgufBytes().bytes("GGUF".getBytes()).u32(3).u32(0))), 8, "truncated", "tensor count");
        assertProblem(expectFormatError(write(new GgufBytes().bytes("GGUF".getBytes()).u32(3).u64(0).u32(0))), 16, "truncated");
    }

    @Test
    void impossibleCountsFailBeforeAnythingIsAllocated() throws IOException {
        assertProblem(expectFormatError(write(GgufBytes.header(3, 1L << 62, 0))), 8, "tensor count");
        assertProblem(expectFormatError(write(GgufBytes.header(3, -1L, 0))), 8, "tensor count", "18446744073709551615");
        assertProblem(expectFormatError(write(GgufBytes.header(3, 0, 1L << 62))), 16, "metadata count");
        assertProblem(expectFormatError(write(GgufBytes.header(3, 0, Long.MIN_VALUE))), 16, "metadata count");
    }

    @ParameterizedTest
    @ValueSource(longs = {1L << 62, Long.MAX_VALUE, -1L, 1L << 31, (1L << 30) + 1})
    void absurdStringLengthsAreRefused(long length) throws IOException {
        // As a key...
        GgufBytes key = GgufBytes.header(3, 0, 1).u64(length).zeros(40);
        assertProblem(expectFormatError(write(key)), 24, "string length");
        // ...as a string value...
        GgufBytes value = GgufBytes.header(3, 0, 1).key("k", STRING);
        int at = value.position();
        assertProblem(expectFormatError(write(value.u64(length).zeros(40))), at, "string length");
        // ...and as a tensor name.
        GgufBytes name = GgufBytes.header(3, 1, 0);
        at = name.position();
        assertProblem(expectFormatError(write(name.u64(length).zeros(40))), at, "string length");
    }

    @ParameterizedTest
    @ValueSource(longs = {1L << 62, Long.MAX_VALUE, -1L, 1L << 31, 1000})
    void absurdArrayLengthsAreRefused(long count) throws IOException {
        for (int element : new int[] {UINT8, INT32, UINT64, STRING, BOOL, ARRAY, FLOAT64}) {
            GgufBytes b = GgufBytes.header(3, 0, 1).key("arr", ARRAY).u32(element);
            int at = b.position();
            GgufFormatException e = expectFormatError(write(b.u64(count).zeros(64)));
            assertProblem(e, at, "array", "elements");
        }
    }

    @Test
    void unknownMetadataValueTypesAreNamed() throws IOException {
        for (int type : new int[] {13, 99, -1}) {
            GgufBytes b = GgufBytes.header(3, 0, 1).str("general.thing");
            int at = b.position();
            assertProblem(expectFormatError(write(b.u32(type).zeros(16))), at, "unknown metadata value type", "general.thing");
            GgufBytes arr = GgufBytes.header(3, 0, 1).key("arr", ARRAY);
            at = arr.position();
            assertProblem(expectFormatError(write(arr.u32(type).u64(1).zeros(16))), at, "unknown array element type");
        }
    }

    @Test
    void invalidBooleanIsRefused() throws IOException {
        GgufBytes b = GgufBytes.header(3, 0, 1).key("flag", BOOL);
        int at = b.position();
        assertProblem(expectFormatError(write(b.u8(2))), at, "boolean");
    }

    @Test
    void duplicateKeysAndTensorNamesAreRefusedWhereTheSecondStarts() throws IOException {
        GgufBytes b = GgufBytes.header(3, 0, 2).key("general.name", STRING).str("a");
        int at = b.position();
        b.key("general.name", UINT8).u8(1);
        assertProblem(expectFormatError(write(b)), at, "duplicate", "general.name");

        GgufBytes t = GgufBytes.header(3, 2, 0).tensorInfo("w", T_F32, 0, 8);
        int second = t.position();
        t.tensorInfo("w", T_F32, 32, 8).padTo(32).zeros(64);
        assertProblem(expectFormatError(write(t)), second, "duplicate", "'w'");
    }

    @Test
    void unknownTensorTypesAreNamed() throws IOException {
        for (int type : new int[] {4, 5, 31, 39, 1000, -1}) {
            GgufBytes b = GgufBytes.header(3, 1, 0).str("w").u32(1).u64(32);
            int at = b.position();
            b.u32(type).u64(0).padTo(32).zeros(256);
            assertProblem(expectFormatError(write(b)), at, "unknown ggml type", String.valueOf(type));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 5, 64, -1})
    void impossibleDimensionCountsAreRefused(int nDims) throws IOException {
        GgufBytes b = GgufBytes.header(3, 1, 0).str("w");
        int at = b.position();
        b.u32(nDims);
        for (int i = 0; i < 5; i++) b.u64(1);
        b.u32(T_F32).u64(0).padTo(32).zeros(64);
        assertProblem(expectFormatError(write(b)), at, "dimensions", "'w'");
    }

    @ParameterizedTest
    @ValueSource(longs = {0, -1, 1L << 62, Long.MIN_VALUE, 1L << 40})
    void absurdDimensionsAreRefusedAtTheDimension(long ne) throws IOException {
        GgufBytes b = GgufBytes.header(3, 1, 0).str("w").u32(2).u64(32);
        int at = b.position();
        b.u64(ne).u32(T_F32).u64(0).padTo(32).zeros(64);
        assertProblem(expectFormatError(write(b)), at, "dimension", "'w'");
    }

    /**
     * Each dimension is plausible on its own but their product is not: the element count or the byte
     * count overflows a long, or the tensor cannot fit in any file this size.
     */
    @Test
    void dimensionsWhoseProductOverflowsAreRefused() throws IOException {
        long[][] shapes = {
            {1L << 16, 1L << 16, 1L << 16, 1L << 16},  // 2^64 elements
            {1L << 16, 1L << 16, 1L << 16, 1L << 14},  // 2^62 elements: x 8 bytes overflows
            {1L << 16, 1L << 16, 1L << 16, 1L << 12},  // 2^60 elements: x 8 bytes = 2^63 overflows
            {1L << 16, 1L << 16, 1L << 16, 1L << 11},  // 2^59 x 8 = 2^62 bytes: fits a long, not a file
        };
        for (int type : new int[] {T_F64, T_F32}) {
            for (long[] shape : shapes) {
                GgufBytes b = GgufBytes.header(3, 1, 0);
                int at = b.position();
                b.tensorInfo("w", type, 0, shape).padTo(32).zeros(1024);
                GgufFormatException e = expectFormatError(write(b));
                assertTrue(e.offset() >= at && e.offset() < b.position(), () -> "offset inside the tensor info: " + e.getMessage());
                assertTrue(e.problem().contains("'w'"), e::getMessage);
            }
        }
    }

    @Test
    void rowLengthThatIsNotAWholeNumberOfBlocksIsRefused() throws IOException {
        GgufBytes b = GgufBytes.header(3, 1, 0).str("q").u32(2).u64(33).u64(2);
        int at = b.position();
        b.u32(T_Q8_0).u64(0).padTo(32).zeros(256);
        assertProblem(expectFormatError(write(b)), at, "block size");
    }

    @Test
    void misalignedTensorOffsetsAreRefusedAtTheOffsetField() throws IOException {
        for (long offset : new long[] {7, 16, 33, -32}) {
            GgufBytes b = GgufBytes.header(3, 1, 0).str("w").u32(1).u64(8).u32(T_F32);
            int at = b.position();
            b.u64(offset).padTo(32).zeros(256);
            assertProblem(expectFormatError(write(b)), at, "offset", "alignment");
        }
        // With general.alignment = 64, 32 is misaligned.
        GgufBytes b = GgufBytes.header(3, 1, 1).key("general.alignment", UINT32).u32(64).str("w").u32(1).u64(8).u32(T_F32);
        int at = b.position();
        b.u64(32).padTo(64).zeros(256);
        assertProblem(expectFormatError(write(b)), at, "alignment 64");
    }

    @Test
    void invalidAlignmentIsReportedAtItsKey() throws IOException {
        IntFunction<GgufBytes> withAlignment = v -> GgufBytes.header(3, 0, 2).key("general.name", STRING).str("x");
        for (int value : new int[] {0, 3, 48, -64}) {
            GgufBytes b = withAlignment.apply(value);
            int at = b.position();
            b.key("general.alignment", UINT32).u32(value);
            assertProblem(expectFormatError(write(b)), at, "alignment");
        }
        GgufBytes s = withAlignment.apply(0);
        int at = s.position();
        s.key("general.alignment", STRING).str("32");
        assertProblem(expectFormatError(write(s)), at, "alignment");
        GgufBytes f = withAlignment.apply(0);
        at = f.position();
        f.key("general.alignment", FLOAT32).f32(64.5f);
        assertProblem(expectFormatError(write(f)), at, "alignment");
    }

    @Test
    void tensorPastTheEndIsReportedAtItsInfo() throws IOException {
        GgufBytes b = GgufBytes.header(3, 2, 0).tensorInfo("ok", T_F32, 0, 8);
        int at = b.position();
        b.tensorInfo("far", T_F32, 1L << 40, 8).padTo(32).zeros(64);
        assertProblem(expectFormatError(write(b)), at, "'far'", "past the end");

        GgufBytes c = GgufBytes.header(3, 1, 0);
        at = c.position();
        c.tensorInfo("long", T_F32, 0, 1000).padTo(32).zeros(64);   // 4000 bytes, 64 present
        assertProblem(expectFormatError(write(c)), at, "'long'", "past the end");

        GgufBytes d = GgufBytes.header(3, 1, 0);
        at = d.position();
        d.tensorInfo("huge", T_F32, Long.MAX_VALUE & ~31L, 8).padTo(32).zeros(64);  // offset + size overflows
        assertProblem(expectFormatError(write(d)), at, "'huge'");
    }

    @Test
    void deeplyNestedArraysFailCleanlyInsteadOfOverflowingTheStack() throws IOException {
        int depth = 200_000;
        GgufBytes b = GgufBytes.header(3, 0, 1).key("nest", ARRAY);
        for (int i = 0; i < depth; i++) b.arrayOf(ARRAY, 1);
        b.arrayOf(UINT8, 0);
        GgufFormatException e = expectFormatError(write(b));
        assertTrue(e.problem().contains("nest"), e::getMessage);
    }

    /** Cuts of a real model at every byte of the first 1 KiB and of the last tensor infos, and at steps elsewhere. */
    @Test
    void realModelTruncatedAnywhereFailsCleanly() throws IOException {
        Path model = GgufTestSupport.testdata("phi3-tiny/phi3-tiny-a.Q4_K_M.gguf");
        long dataStart;
        long lastTensorEnd;
        try (GgufFile g = GgufFile.open(model)) {
            dataStart = g.dataStart();
            lastTensorEnd = g.tensors().stream().mapToLong(t -> g.dataStart() + t.offset() + t.byteSize()).max().orElseThrow();
        }
        java.util.TreeSet<Long> cuts = new java.util.TreeSet<>();
        for (long c = 0; c < 1024; c++) cuts.add(c);
        for (long c = 1024; c < 8192; c += 13) cuts.add(c);
        for (long c = 4096; c < dataStart; c += 4999) cuts.add(c);
        // The 15 tensor infos (about 60 bytes each) and the padding: every byte of the last 130, then every 17th.
        for (long c = Math.max(0, dataStart - 130); c <= dataStart; c++) cuts.add(c);
        for (long c = Math.max(0, dataStart - 1500); c < dataStart; c += 17) cuts.add(c);
        for (long c = dataStart + 1; c < lastTensorEnd; c += 1_000_003) cuts.add(c);
        cuts.add(lastTensorEnd - 1);

        Path cut = dir.resolve("cut.gguf");
        long start = System.nanoTime();
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> truncateAndRead(model, cut, cuts, dataStart, lastTensorEnd));
        System.out.println(cuts.size() + " truncations of " + model.getFileName() + " in " + (System.nanoTime() - start) / 1_000_000 + " ms");
    }

    private static void truncateAndRead(Path model, Path cut, java.util.Set<Long> cuts, long dataStart, long lastTensorEnd) throws IOException {
        try (FileChannel src = FileChannel.open(model, StandardOpenOption.READ)) {
            ByteBuffer all = src.map(FileChannel.MapMode.READ_ONLY, 0, lastTensorEnd).order(ByteOrder.LITTLE_ENDIAN);
            for (long c : cuts) {
                try (FileChannel out = FileChannel.open(cut, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
                    out.write(all.duplicate().limit((int) c));
                }
                GgufFormatException e = GgufTestSupport.expectFormatErrorUnguarded(cut);
                assertTrue(e.offset() <= c, () -> "cut at " + c + " reported after the cut: " + e.getMessage());
                if (c >= dataStart) assertTrue(e.offset() < dataStart, () -> "a missing tensor is reported at its info: " + e.getMessage());
            }
        }
    }
}
