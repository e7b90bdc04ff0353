package dev.phiedge.agent.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared (reference data) through the {@code phiedge.shared} property set by surefire. */
public final class SharedData {
    private SharedData() {}

    /** A file under shared/, or a skipped test that says why when it is not there. */
    public static Path require(String relative) {
        String dir = System.getProperty("phiedge.shared");
        assumeTrue(dir != null, "skipped: system property phiedge.shared is not set (run through Maven)");
        Path path = Path.of(dir).resolve(relative);
        assumeTrue(Files.exists(path), "skipped: reference file " + path + " is absent (no ../shared checkout)");
        return path;
    }

    /** The repository root (the agent module's parent), for samples/. */
    public static Path repoRoot() {
        Path cwd = Path.of("").toAbsolutePath();
        return Files.exists(cwd.resolve("samples")) ? cwd : cwd.getParent();
    }
}
