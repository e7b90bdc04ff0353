package dev.phiedge.runtime.model;

/** A prompt (or prompt plus generation) that does not fit the configured context length. */
public final class ContextOverflowException extends RuntimeException {
    private final int needed;
    private final int contextLength;

    public ContextOverflowException(int needed, int contextLength) {
        super("the prompt needs " + needed + " positions but the context holds " + contextLength
                + " (raise the configured context length or shorten the prompt)");
        this.needed = needed;
        this.contextLength = contextLength;
    }

    public int needed() { return needed; }

    public int contextLength() { return contextLength; }
}
