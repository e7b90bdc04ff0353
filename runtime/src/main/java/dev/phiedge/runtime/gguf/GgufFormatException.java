package dev.phiedge.runtime.gguf;

import java.nio.file.Path;

/**
 * A GGUF file that cannot be read: names the file, the byte offset where reading failed, and what
 * was wrong there. It is the one exception a bad file produces.
 */
public final class GgufFormatException extends RuntimeException {
    private final transient Path file;
    private final long offset;
    private final String problem;

    public GgufFormatException(Path file, long offset, String problem) {
        super(file + ": at byte offset " + offset + ": " + problem);
        this.file = file;
        this.offset = offset;
        this.problem = problem;
    }

    public Path file() { return file; }

    public long offset() { return offset; }

    public String problem() { return problem; }
}
