package dev.phiedge.runtime.tokenizer;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** Encoding is about linear in the text length (priority queue, hashed pieces; no quadratic scans). */
class LongTextEncodingTest {
    private static final String UNIT = "The pump in building 7 stopped at 3:15 pm. {\"sensor\":\"temp-1\",\"value\":41.5} "
            + "Ünïcödé 温度传感器 🌡️ <|user|>\n";

    @Test
    void aMegabyteOfTextWithSpecialTokensEncodesQuicklyAndConsistently() {
        Tokenizer t = Fixtures.phi3();
        int copies = 1_000_000 / UNIT.length();
        String big = UNIT.repeat(copies);
        int[] unit = t.encode(UNIT, false, true); // ends with <|user|>: every copy starts a fresh fragment
        int[] ids = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> t.encode(big, true, true));
        assertEquals(1 + copies * unit.length, ids.length);
        assertEquals(1, ids[0]);
        for (int c = 0; c < copies; c += 997) {
            assertArrayEquals(unit, Arrays.copyOfRange(ids, 1 + c * unit.length, 1 + (c + 1) * unit.length), "copy " + c);
        }
    }

    @Test
    void oneHugeFragmentWithoutSpecialTokensEncodesQuickly() {
        Tokenizer t = Fixtures.phi3();
        String big = UNIT.repeat(1_000_000 / UNIT.length());
        int[] ids = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> t.encode(big, false, false));
        assertEquals(big, t.decode(ids, false, false));
        String run = "a".repeat(200_000); // one long word: the merge queue works on 200k symbols
        int[] a = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> t.encode(run, false, false));
        assertEquals(run, t.decode(a, false, false));
    }
}
