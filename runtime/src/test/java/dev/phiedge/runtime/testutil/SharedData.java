package dev.phiedge.runtime.testutil;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Locates the shared reference data folder ({@code ../shared} beside the repository): the system
 * property {@code phiedge.shared} (set by surefire), else {@code ../../shared} from the module folder,
 * else {@code ../shared} from the repository root.
 */
public final class SharedData {
    private SharedData() {}

    /** The shared folder, if present. */
    public static Optional<Path> root() {
        String prop = System.getProperty("phiedge.shared");
        for (String candidate : new String[] {prop, "../../shared", "../shared"}) {
            if (candidate == null || candidate.isBlank()) continue;
            Path p = Path.of(candidate).toAbsolutePath().normalize();
            if (Files.isDirectory(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /**
     * {@code relative} inside the shared folder; aborts the calling test (reported as skipped, with the
     * reason) when the folder or the file is absent.
     */
    public static Path require(String relative) {
        Optional<Path> root = root();
        Assumptions.assumeTrue(root.isPresent(), () -> "SKIPPED: shared reference data not found (set -Dphiedge.shared=DIR; looked at "
                + System.getProperty("phiedge.shared") + ", ../../shared, ../shared); needed: " + relative);
        Path file = root.get().resolve(relative);
        Assumptions.assumeTrue(Files.exists(file), () -> "SKIPPED: " + file + " is absent from the shared reference data");
        return file;
    }
}
