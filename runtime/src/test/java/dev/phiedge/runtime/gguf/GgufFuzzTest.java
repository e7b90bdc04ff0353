package dev.phiedge.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random mutations of a small valid file: the reader either opens it (and then its tensors and
 * metadata are usable) or throws a GgufFormatException naming the file and an offset inside it; never
 * anything else, and never a hang.
 */
class GgufFuzzTest {
    private static final long SEED = 0x6775_6666L;
    private static final int MUTATIONS = 2000;
    private static final long[] INTERESTING = {0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 31, 32, 33, 64, 255, 256, 0x7FFF_FFFFL,
        0x8000_0000L, 0xFFFF_FFFFL, 1L << 32, 1L << 40, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE, -1};

    @TempDir
    Path dir;

    private byte[] validFile() throws IOException {
        GgufWriter w = new GgufWriter();
        GgufWriterRoundTripTest.everyKindOfValue().forEach(w::put);
        w.put("general.alignment", GgufValue.ofUInt32(32));
        w.addTensor("a", GgmlType.F32, new long[] {4, 2}, out -> out.putFloats(new float[] {1, 2, 3, 4, 5, 6, 7, 8}));
        w.addTensor("b", GgmlType.Q8_0, new long[] {32}, out -> out.putBytes(new byte[34]));
        w.addTensor("c", GgmlType.F16, new long[] {3, 1, 1}, out -> out.putBytes(new byte[6]));
        Path file = dir.resolve("valid.gguf");
        w.write(file);
        return Files.readAllBytes(file);
    }

    @Test
    void randomMutationsEitherReadOrFailWithAFormatException() throws IOException {
        byte[] valid = validFile();
        int headerEnd;
        try (GgufFile g = GgufFile.open(dir.resolve("valid.gguf"))) {
            headerEnd = (int) g.dataStart();
        }
        Random random = new Random(SEED);
        Path file = dir.resolve("mutant.gguf");
        int[] outcomes = new int[2];
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            for (int i = 0; i < MUTATIONS; i++) {
                byte[] mutant = mutate(valid, headerEnd, random);
                Files.write(file, mutant);
                try (GgufFile g = GgufFile.open(file)) {
                    exercise(g);
                    outcomes[0]++;
                } catch (GgufFormatException e) {
                    GgufTestSupport.checkMessage(e, file);
                    outcomes[1]++;
                } catch (Throwable t) {
                    throw new AssertionError("mutation #" + i + " (seed " + SEED + ") threw " + t, t);
                }
            }
        });
        System.out.println("fuzz: " + outcomes[0] + " mutants opened, " + outcomes[1] + " refused with GgufFormatException");
        assertTrue(outcomes[1] > MUTATIONS / 4, "most header mutations should be caught");
    }

    /** Touches everything a caller would: every value, every tensor's bytes. */
    private static void exercise(GgufFile g) {
        for (Map.Entry<String, GgufValue> e : g.metadata().entrySet()) {
            e.getValue().display(8);
            e.getValue().length();
        }
        for (GgufTensorInfo t : g.tensors()) {
            var data = g.tensorData(t);
            if (data.byteSize() > 0) data.get(ValueLayout.JAVA_BYTE, data.byteSize() - 1);
            t.rows();
            t.cols();
        }
    }

    /** One to four edits, mostly inside the header: random bytes, interesting integers, cuts, splices. */
    private static byte[] mutate(byte[] valid, int headerEnd, Random r) {
        byte[] b = valid.clone();
        int edits = 1 + r.nextInt(4);
        for (int e = 0; e < edits && b.length > 0; e++) {
            int limit = r.nextInt(10) == 0 ? b.length : Math.min(b.length, headerEnd);
            int at = r.nextInt(Math.max(1, limit));
            switch (r.nextInt(6)) {
                case 0 -> b[at] = (byte) r.nextInt(256);
                case 1 -> b[at] ^= (byte) (1 << r.nextInt(8));
                case 2, 3 -> {
                    int width = r.nextBoolean() ? 8 : 4;
                    if (at + width <= b.length) {
                        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                        long v = INTERESTING[r.nextInt(INTERESTING.length)] + (r.nextInt(3) - 1);
                        if (width == 8) bb.putLong(at, v); else bb.putInt(at, (int) v);
                    }
                }
                case 4 -> b = Arrays.copyOf(b, at);
                default -> {
                    // Splice: copy a random run of the file over another place.
                    int from = r.nextInt(b.length);
                    int len = Math.min(1 + r.nextInt(32), Math.min(b.length - from, b.length - at));
                    System.arraycopy(b.clone(), from, b, at, len);
                }
            }
        }
        return b;
    }
}
