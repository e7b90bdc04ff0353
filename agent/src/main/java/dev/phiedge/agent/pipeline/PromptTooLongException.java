package dev.phiedge.agent.pipeline;

/** The rendered prompt does not fit the model's context with room for the reply; the event is rejected. */
public final class PromptTooLongException extends Exception {
    private final int promptTokens;
    private final int contextLength;

    public PromptTooLongException(int promptTokens, int contextLength) {
        super("the prompt is " + promptTokens + " tokens; the context holds " + contextLength);
        this.promptTokens = promptTokens;
        this.contextLength = contextLength;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int contextLength() {
        return contextLength;
    }
}
