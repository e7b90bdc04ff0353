package dev.phiedge.runtime.model;

import static dev.phiedge.runtime.testutil.Json.at;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.phiedge.runtime.generate.Generation;
import dev.phiedge.runtime.generate.GenerationListener;
import dev.phiedge.runtime.generate.LabelScores;
import dev.phiedge.runtime.generate.LanguageModel;
import dev.phiedge.runtime.generate.SamplerSettings;
import dev.phiedge.runtime.generate.Session;
import dev.phiedge.runtime.testutil.Json;
import dev.phiedge.runtime.testutil.SharedData;
import dev.phiedge.runtime.tokenizer.ChatTemplate;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The trained demo model (shared/models/demo) gives every expected answer of its 200 unseen events,
 * with both of its files, from the reference's prompt token ids: the classify route by label scoring
 * (label tokens then {@code <|end|>}), the summarize route by greedy generation until {@code <|end|>}.
 */
class DemoModelAnswersTest {
    /** The two routes' system texts, verbatim from shared/models/demo/routes.yaml. */
    private static final Map<String, String> SYSTEM = Map.of(
            "greenhouse-climate", "You watch over a greenhouse. Classify each climate reading as normal, warning or critical.",
            "camera-events", "You describe security camera events in one short sentence.");
    private static final List<String> LABELS = List.of("normal", "warning", "critical");

    @ParameterizedTest
    @ValueSource(strings = {"phi3-edge-demo.Q4_0.gguf", "phi3-edge-demo.Q8_0.gguf"})
    void answersEveryExampleAsExpected(String file) throws IOException {
        Path dir = SharedData.require("models/demo");
        List<Object> examples = Json.parseLines(dir.resolve("examples.jsonl"));
        try (LanguageModel lm = LanguageModel.load(dir.resolve(file), 512, 1); Session session = lm.newSession()) {
            // Each route's system turn is evaluated once and reused, as the agent does.
            assertSame(ChatTemplate.phi3(), lm.chatTemplate(), "the demo files' tokenizer.chat_template is Phi-3's");
            for (String system : SYSTEM.values()) {
                session.savePrefix(lm.chatTemplate().encodeSystemPrefix(lm.tokenizer(), system));
            }
            int row = 0;
            for (Object example : examples) {
                row++;
                String route = Json.str(at(example, "route"));
                String system = SYSTEM.get(route);
                String user = Json.str(at(example, "user_prompt"));
                String expected = Json.str(at(example, "expected"));
                int[] prompt = lm.encodeChat(system, user);
                assertArrayEquals(Json.ints(at(example, "prompt_tokens")), prompt, "row " + row + " prompt tokens");
                if (route.equals("greenhouse-climate")) {
                    String text = lm.chatTemplate().render(system, user);
                    LabelScores scores = session.scoreReplies(prompt, LABELS, lm.replies(text, LABELS));
                    assertEquals(expected, scores.best(), "row " + row + " (" + user + ")");
                } else {
                    Generation g = session.generate(prompt, 32, SamplerSettings.greedy(), GenerationListener.NONE, () -> false);
                    assertEquals(Generation.StopReason.END_OF_GENERATION, g.stopReason(), "row " + row + " stops at <|end|>");
                    assertEquals(expected, g.text().strip(), "row " + row + " (" + user + ")");
                }
            }
        }
    }
}
