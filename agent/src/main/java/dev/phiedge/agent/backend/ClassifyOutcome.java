package dev.phiedge.agent.backend;

import java.util.Map;

/**
 * The answer of a classify route.
 *
 * @param label           the most probable label (always one of the route's labels)
 * @param scores          each label's probability; iteration order is the route's label order
 * @param promptTokens    tokens of the whole prompt (system and user turns)
 * @param generatedTokens tokens of the chosen reply (label tokens and the end token)
 */
public record ClassifyOutcome(String label, Map<String, Double> scores, int promptTokens, int generatedTokens)
        implements InferenceOutcome {
    public ClassifyOutcome {
        scores = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(scores));
    }
}
