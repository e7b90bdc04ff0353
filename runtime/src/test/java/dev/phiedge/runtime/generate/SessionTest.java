package dev.phiedge.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.runtime.model.ContextOverflowException;
import dev.phiedge.runtime.testutil.SharedData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Session behaviour on the trained demo model: prefix reuse must not change any result, label
 * scores form a distribution, and limits end generation cleanly.
 */
class SessionTest {
    private static final String SYSTEM = "You describe security camera events in one short sentence.";
    private static final String USER = "Event new on camera garage_door: person with score 0.91, zones driveway.";

    private static Path demo() {
        return SharedData.require("models/demo/phi3-edge-demo.Q8_0.gguf");
    }

    @Test
    void reusingASavedPrefixGivesTheSameLogitsAsAFreshEvaluation() throws IOException {
        try (LanguageModel lm = LanguageModel.load(demo(), 256, 1)) {
            int[] prompt = lm.encodeChat(SYSTEM, USER);
            float[] fresh;
            try (Session s = lm.newSession()) {
                assertEquals(0, s.prefill(prompt));
                fresh = s.state().logits().clone();
            }
            try (Session s = lm.newSession()) {
                int[] prefix = java.util.Arrays.copyOf(prompt, 14);
                s.savePrefix(prefix);
                s.prefill(lm.encodeChat("Something else entirely.", "x"));  // the cache now holds another prompt
                int reused = s.prefill(prompt);
                assertEquals(14, reused, "the saved prefix is restored");
                assertArrayEquals(fresh, s.state().logits(), 1e-4f);
                assertEquals(prompt.length - 1, s.prefill(prompt), "the same prompt again reuses all but its last token");
                assertArrayEquals(fresh, s.state().logits(), 1e-4f);
            }
        }
    }

    @Test
    void labelScoresAreANormalizedDistributionConsistentWithLogProbabilities() throws IOException {
        try (LanguageModel lm = LanguageModel.load(demo(), 256, 1); Session s = lm.newSession()) {
            String system = "You watch over a greenhouse. Classify each climate reading as normal, warning or critical.";
            String user = "Zone 2: temperature 44.5 C, humidity 50 %, soil moisture 40 %, CO2 900 ppm.";
            String text = lm.chatTemplate().render(system, user);
            List<String> labels = List.of("normal", "warning", "critical");
            LabelScores scores = s.scoreReplies(lm.encodePrompt(text), labels, lm.replies(text, labels));
            double sum = 0;
            for (double p : scores.probabilities()) sum += p;
            assertEquals(1.0, sum, 1e-9);
            assertEquals("critical", scores.best(), "temperature >= 40 is critical by the demo's rule");
            // p_i / p_j = exp(logp_i - logp_j)
            double[] lp = scores.logProbabilities();
            double ratio = scores.probabilities()[2] / scores.probabilities()[0];
            assertEquals(1.0, Math.exp(lp[2] - lp[0]) / ratio, 1e-9);
            for (double l : lp) assertTrue(l <= 0);
            assertEquals(6, scores.scoredTokens(), "each label is one token plus <|end|>");
        }
    }

    @Test
    void generationStopsAtTheTokenLimitAndOnCancellation() throws IOException {
        try (LanguageModel lm = LanguageModel.load(demo(), 256, 1); Session s = lm.newSession()) {
            int[] prompt = lm.encodeChat(SYSTEM, USER);
            Generation limited = s.generate(prompt, 3, SamplerSettings.greedy(), GenerationListener.NONE, () -> false);
            assertEquals(3, limited.tokens().length);
            assertEquals(Generation.StopReason.MAX_TOKENS, limited.stopReason());

            AtomicInteger seen = new AtomicInteger();
            Generation cancelled = s.generate(prompt, 30, SamplerSettings.greedy(), new GenerationListener() {
                @Override
                public void onToken(int token, String text) { seen.incrementAndGet(); }
            }, () -> seen.get() >= 2);
            assertEquals(Generation.StopReason.CANCELLED, cancelled.stopReason());
            assertEquals(2, cancelled.tokens().length);
        }
    }

    @Test
    void aFailedEvaluationLeavesNoStaleCacheBehind() throws IOException {
        try (LanguageModel lm = LanguageModel.load(demo(), 256, 1); Session s = lm.newSession()) {
            int[] prompt = lm.encodeChat(SYSTEM, USER);
            s.prefill(prompt);
            float[] fresh = s.state().logits().clone();
            // Same beginning, then (past the first batch of 32) an id the vocabulary does not have.
            int[] bad = java.util.Arrays.copyOf(prompt, prompt.length + 1);
            bad[prompt.length] = 1_000_000;
            assertThrows(IllegalArgumentException.class, () -> s.prefill(bad));
            int[] other = lm.encodeChat(SYSTEM, "Event end on camera cam55: goat with score 0.65, zones lawn, path.");
            s.prefill(other);
            s.prefill(prompt);
            assertArrayEquals(fresh, s.state().logits(), 1e-4f);
        }
    }

    @Test
    void aPromptLongerThanTheContextIsAClearError() throws IOException {
        try (LanguageModel lm = LanguageModel.load(demo(), 16, 1); Session s = lm.newSession()) {
            int[] prompt = lm.encodeChat(SYSTEM, USER);
            ContextOverflowException e = assertThrows(ContextOverflowException.class, () -> s.prefill(prompt));
            assertEquals(prompt.length, e.needed());
            assertEquals(16, e.contextLength());
            assertTrue(e.getMessage().contains("context"));
        }
    }

    @Test
    void streamedTextEqualsTheFinalText() throws IOException {
        try (LanguageModel lm = LanguageModel.load(demo(), 256, 1); Session s = lm.newSession()) {
            StringBuilder streamed = new StringBuilder();
            Generation g = s.generate(lm.encodeChat(SYSTEM, USER), 32, SamplerSettings.greedy(), new GenerationListener() {
                @Override
                public void onToken(int token, String text) { streamed.append(text); }
            }, () -> false);
            assertEquals(g.text(), streamed.toString());
            assertEquals("A person appeared on garage_door in the driveway.", g.text().strip(), "the demo README's rule for a new event, score >= 0.6");
        }
    }
}
