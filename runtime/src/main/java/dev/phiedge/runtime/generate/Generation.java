package dev.phiedge.runtime.generate;

/**
 * The outcome of one generation.
 *
 * @param tokens          generated ids, the end-of-generation token included when it stopped there
 * @param text            the generated text (special tokens not rendered)
 * @param stopReason      why it stopped
 * @param promptEvalNanos time spent on the prompt tokens that were not already cached
 * @param evalNanos       time spent generating
 * @param reusedTokens    prompt tokens served from the KV cache (prefix reuse)
 */
public record Generation(int[] tokens, String text, StopReason stopReason, long promptEvalNanos, long evalNanos,
                         int reusedTokens) {

    public enum StopReason { END_OF_GENERATION, MAX_TOKENS, CANCELLED, CONTEXT_FULL }
}
