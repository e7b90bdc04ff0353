package dev.phiedge.runtime.gguf;

import static dev.phiedge.runtime.gguf.GgufBytes.T_F32;
import static dev.phiedge.runtime.gguf.GgufBytes.T_I8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file over 2 GiB maps and reads: a sparse file (so it costs no disk) whose header places one tensor
 * across the 2 GiB mark and another wholly beyond it.
 */
class GgufLargeFileTest {

    private static final long TWO_GIB = 1L << 31;

    @TempDir
    Path dir;

    @Test
    void tensorsBeyondTwoGibibytesAreReadableThroughTensorData() throws IOException {
        long hugeBytes = TWO_GIB + 100;                       // I8 [2 GiB + 100]: crosses the 2 GiB mark
        long farOffset = GgufFile.alignUp(hugeBytes, 32) + TWO_GIB; // F32 [4]: starts past 4 GiB of data
        byte[] header = GgufBytes.header(3, 2, 1)
                .key("general.name", GgufBytes.STRING).str("sparse")
                .tensorInfo("huge", T_I8, 0, hugeBytes)
                .tensorInfo("far", T_F32, farOffset, 4)
                .padTo(32).toArray();
        long dataStart = header.length;
        long fileSize = dataStart + farOffset + 16;

        Path file = dir.resolve("sparse.gguf");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(header);
            try {
                raf.setLength(fileSize);
            } catch (IOException e) {
                Assumptions.abort("SKIPPED: the filesystem of " + dir + " refuses a sparse " + fileSize + "-byte file: " + e);
            }
            raf.seek(dataStart + hugeBytes - 1);
            raf.write(0x5A);                                   // last byte of "huge", past 2 GiB
            raf.seek(dataStart + TWO_GIB - 1);
            raf.write(new byte[] {0x11, 0x22});                // bytes on either side of the 2 GiB mark inside "huge"
            raf.seek(dataStart + farOffset);
            ByteBuffer floats = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            floats.putFloat(1.25f).putFloat(-3f).putFloat(0f).putFloat(42f);
            raf.write(floats.array());
        }

        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(fileSize, g.fileSize());
            GgufTensorInfo huge = g.tensor("huge");
            assertEquals(hugeBytes, huge.byteSize());
            MemorySegment h = g.tensorData(huge);
            assertEquals(hugeBytes, h.byteSize());
            assertEquals(0x5A, h.get(ValueLayout.JAVA_BYTE, hugeBytes - 1));
            assertEquals(0x11, h.get(ValueLayout.JAVA_BYTE, TWO_GIB - 1));
            assertEquals(0x22, h.get(ValueLayout.JAVA_BYTE, TWO_GIB));
            assertEquals(0, h.get(ValueLayout.JAVA_BYTE, 12345), "a hole reads as zero");

            GgufTensorInfo far = g.tensor("far");
            assertEquals(farOffset, far.offset());
            MemorySegment f = g.tensorData(far);
            var f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            assertEquals(1.25f, f.getAtIndex(f32, 0));
            assertEquals(-3f, f.getAtIndex(f32, 1));
            assertEquals(42f, f.getAtIndex(f32, 3));
        }
    }
}
