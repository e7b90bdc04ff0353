package dev.phiedge.agent.backend;

import java.util.List;

/**
 * What the agent needs from a language model. The daemon calls it from its single inference worker
 * thread only, so an implementation need not be thread-safe; it may use every core inside a call.
 * Implementations render the chat template themselves (system turn, then the user prompt) and may
 * cache each route's system prefix: {@code route} names the prefix that repeats.
 */
public interface InferenceBackend extends AutoCloseable {

    /** Reported in every result's {@code model} field. */
    String modelName();

    /**
     * Scores each label as the assistant's whole reply and returns the most probable one.
     *
     * @param labels the route's answer set, in configured order; the outcome's label is one of them
     */
    ClassifyOutcome classify(String route, String system, String userPrompt, List<String> labels)
            throws PromptTooLongException;

    /** Generates greedily until the end-of-turn token or {@code maxTokens}; the text is trimmed. */
    SummaryOutcome summarize(String route, String system, String userPrompt, int maxTokens)
            throws PromptTooLongException;

    /**
     * Runs the model once on a throwaway prompt before the first event, so that the JIT has compiled
     * the kernels when real events arrive. Called once, before the inference worker starts.
     */
    default void warmUp() {}

    /** Releases the model (memory maps, threads). */
    @Override
    default void close() {}
}
