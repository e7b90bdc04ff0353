package dev.phiedge.agent.backend;

/** The rendered prompt does not fit the model's context with room for the reply; the event is rejected. */
public final class PromptTooLongException extends Exception {
    private final int promptTokens;
    private final int contextLength;

    public PromptTooLongException(int promptTokens, int contextLength) {
        this("the prompt is " + promptTokens + " tokens; the context holds " + contextLength, promptTokens, contextLength);
    }

    private PromptTooLongException(String message, int promptTokens, int contextLength) {
        super(message);
        this.promptTokens = promptTokens;
        this.contextLength = contextLength;
    }

    /**
     * Refused before tokenizing: the prompt's text alone needs at least {@code minimumTokens} tokens
     * (estimated from its {@code bytes} UTF-8 bytes); {@link #promptTokens()} is that lower bound.
     */
    public static PromptTooLongException estimated(long minimumTokens, long bytes, int contextLength) {
        int tokens = (int) Math.min(Integer.MAX_VALUE, minimumTokens);
        return new PromptTooLongException("the prompt is at least " + tokens + " tokens (estimated from its " + bytes
                + " bytes, without tokenizing); the context holds " + contextLength, tokens, contextLength);
    }

    /** The prompt's token count, or for {@link #estimated} a lower bound on it. */
    public int promptTokens() {
        return promptTokens;
    }

    public int contextLength() {
        return contextLength;
    }
}
