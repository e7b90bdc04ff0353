package dev.phiedge.agent.backend;

/** What one inference produced, with the token counts that stats and results report. */
public sealed interface InferenceOutcome permits ClassifyOutcome, SummaryOutcome {
    int promptTokens();

    int generatedTokens();
}
