package dev.phiedge.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.time.Duration;
import dev.phiedge.runtime.testutil.SharedData;

/** Shared helpers of the GGUF tests: reference files and the bad-file checks. */
final class GgufTestSupport {
    /** A hang guard only: every reader call here takes milliseconds. */
    static final Duration HANG_GUARD = Duration.ofSeconds(20);

    private GgufTestSupport() {}

    /** A file under ../shared/testdata, or the test is skipped with a message saying what is missing. */
    static Path testdata(String relative) {
        return SharedData.require("testdata/" + relative);
    }

    /**
     * Opens {@code file}, expecting exactly a {@link GgufFormatException} (nothing else, no hang) whose
     * message names the file, its offset and its problem, with the offset inside the file.
     */
    static GgufFormatException expectFormatError(Path file) {
        return assertTimeoutPreemptively(HANG_GUARD, () -> expectFormatErrorUnguarded(file), () -> "reading " + file + " hangs");
    }

    /** {@link #expectFormatError} for a caller that guards a whole loop against hangs itself. */
    static GgufFormatException expectFormatErrorUnguarded(Path file) {
        Throwable thrown;
        try {
            GgufFile.open(file).close();
            thrown = null;
        } catch (Throwable t) {
            thrown = t;
        }
        if (thrown == null) fail("expected a GgufFormatException for " + file + ", but it opened");
        if (!(thrown instanceof GgufFormatException e)) {
            throw new AssertionError("expected a GgufFormatException for " + file + ", got " + thrown, thrown);
        }
        checkMessage(e, file);
        return e;
    }

    static void checkMessage(GgufFormatException e, Path file) {
        long size = file.toFile().length();
        String m = e.getMessage();
        assertTrue(m.contains(file.toString()), () -> "message does not name the file: " + m);
        assertTrue(m.contains("offset " + e.offset()), () -> "message does not name the offset: " + m);
        assertFalse(e.problem() == null || e.problem().isBlank(), () -> "no problem stated: " + m);
        assertTrue(m.contains(e.problem()), () -> "message does not state the problem: " + m);
        assertTrue(e.offset() >= 0 && e.offset() <= size, () -> "offset " + e.offset() + " outside the file of " + size + " bytes: " + m);
    }
}
