package dev.phiedge.agent.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.template.PayloadReader.PayloadException;
import dev.phiedge.agent.template.PayloadReader.PayloadException.Kind;
import java.lang.management.ManagementFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each way a payload is refused has its own kind, so the errors topic says what was wrong. */
class PayloadReaderTest {

    private final PayloadReader reader = new PayloadReader(32);

    private PayloadException refused(PayloadReader r, String payload) {
        return assertThrows(PayloadException.class, () -> r.read(payload));
    }

    /** Bytes this thread allocated while running {@code action}. */
    static long allocatedBy(ThrowingRunnable action) throws Exception {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        action.run();
        return threads.getCurrentThreadAllocatedBytes() - before;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void onlyNestingIsTooDeep() {
        PayloadReader shallow = new PayloadReader(4);
        assertEquals(Kind.TOO_DEEP, refused(shallow, "[[[[[[1]]]]]]").kind());
        assertEquals(Kind.TOO_DEEP, refused(shallow, "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}").kind());
    }

    @Test
    void malformedJsonIsNotJson() {
        for (String bad : List.of("", "   ", "not json", "{\"a\":1} trailing", "{\"a\":")) {
            assertEquals(Kind.NOT_JSON, refused(reader, bad).kind(), bad);
        }
    }

    @Test
    void aFiveThousandDigitNumberIsABadNumberNotTooDeep() throws Exception {
        String digits = "7".repeat(5000);
        for (String payload : List.of("{\"temperature\":" + digits + "}", "{\"temperature\":0." + digits + "}",
                "[" + digits + "]")) {
            PayloadException e = refused(reader, payload);
            assertEquals(Kind.BAD_NUMBER, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("5000"), "says how long the number is: " + e.getMessage());
            assertTrue(e.getMessage().contains("1000"), "says the limit: " + e.getMessage());
        }
        // The refusal happens while reading the digits' text, before any BigInteger or BigDecimal is made:
        // a few buffers at most, far from what digits written out a thousandfold would take.
        long allocated = allocatedBy(() -> assertThrows(PayloadException.class, () -> reader.read("[" + digits + "]")));
        assertTrue(allocated < 1_000_000, allocated + " bytes allocated");
    }

    @Test
    void aHugeExponentIsReadAsTheFewCharactersItIs() throws Exception {
        // 1e10000000 is ten characters of JSON: the reader keeps it as unscaled 1, scale -10000000; only
        // rendering it in full would cost ten million digits (PromptTemplateTest shows that is refused).
        long allocated = allocatedBy(() -> assertEquals("1E+10000000",
                reader.read("{\"temperature\":1e10000000}").get("temperature").decimalValue().toString()));
        assertTrue(allocated < 1_000_000, allocated + " bytes allocated");
    }

    @Test
    void aTwentyMegabyteStringIsTooLarge() {
        // Jackson's default string limit is 20,000,000 characters; 20 MiB is 20,971,520.
        String payload = "{\"note\":\"" + "a".repeat(20 * 1024 * 1024) + "\"}";
        PayloadException e = refused(reader, payload);
        assertEquals(Kind.TOO_LARGE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("String value length"), e.getMessage());
    }

    @Test
    void aHugeKeyIsTooLarge() {
        // Jackson's default name limit is 50,000 characters.
        PayloadException e = refused(reader, "{\"" + "k".repeat(60_000) + "\":1}");
        assertEquals(Kind.TOO_LARGE, e.kind(), e.getMessage());
    }

    @Test
    void everyPayloadKindHasARejectReasonOfTheSameName() {
        for (Kind kind : Kind.values()) {
            assertEquals(kind.name(), dev.phiedge.agent.telemetry.RejectReason.valueOf(kind.name()).name());
        }
    }

    @Test
    void decimalsKeepTheirWrittenScale() throws Exception {
        assertEquals("21.0", reader.read("{\"t\":21.0}").get("t").decimalValue().toPlainString());
        assertEquals("35.50", reader.read("{\"t\":35.50}").get("t").decimalValue().toPlainString());
    }
}
