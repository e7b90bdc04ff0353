package dev.phiedge.agent.backend;

/**
 * The answer of a summarize route.
 *
 * @param text the generated reply, trimmed, without the end token
 */
public record SummaryOutcome(String text, int promptTokens, int generatedTokens) implements InferenceOutcome {}
