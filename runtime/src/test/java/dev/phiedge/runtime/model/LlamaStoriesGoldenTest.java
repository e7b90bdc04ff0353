package dev.phiedge.runtime.model;

import static dev.phiedge.runtime.model.Phi3GoldenTest.argmax;
import static dev.phiedge.runtime.model.Phi3GoldenTest.readLogits;
import static dev.phiedge.runtime.testutil.Json.at;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.runtime.generate.LanguageModel;
import dev.phiedge.runtime.generate.Session;
import dev.phiedge.runtime.testutil.Json;
import dev.phiedge.runtime.testutil.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The llama architecture (separate projections, adjacent-pair RoPE, grouped-query attention with two
 * query heads per kv head) on a real trained model, karpathy's stories260K, against llama.cpp
 * (shared/testdata/real-tiny). All weights are F32, so logits must agree within 0.02.
 */
class LlamaStoriesGoldenTest {
    /** Steps whose reference top-1 margin is below float-ordering noise (README, "Near-ties"). */
    private static final double NEAR_TIE = 0.01;

    static Stream<Arguments> prompts() throws IOException {
        Object golden = Json.parse(SharedData.require("testdata/real-tiny/golden.json"));
        List<Arguments> cases = new ArrayList<>();
        for (Object result : Json.list(at(Json.list(at(golden, "files")).get(0), "results"))) {
            cases.add(Arguments.of(Json.str(at(result, "prompt")), result));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("prompts")
    void matchesReferenceOnEachPrompt(String promptId, Object result) throws IOException {
        Path dir = SharedData.require("testdata/real-tiny");
        String prompt = Files.readString(dir.resolve("prompts/" + promptId + ".txt"));
        try (LanguageModel lm = LanguageModel.load(dir.resolve("stories260K.gguf"), (int) Json.lng(at(result, "n_ctx")), 1);
             Session session = lm.newSession()) {
            int[] tokens = lm.encodePrompt(prompt);
            assertArrayEquals(Json.ints(at(result, "prompt_tokens")), tokens, "prompt token ids");
            session.prefill(tokens);
            float[] reference = readLogits(dir.resolve(Json.str(at(result, "last_logits", "file"))));
            float[] logits = session.state().logits();
            for (int i = 0; i < logits.length; i++) {
                assertEquals(reference[i], logits[i], 0.02, "logit of token " + i);
            }
            compareGreedyTeacherForced(session, result);
        }
    }

    /** llama2.c's own test: 200 greedy tokens from BOS give its expected story. */
    @Test
    void reproducesTheTwoHundredTokenStoryFromBos() throws IOException {
        Path dir = SharedData.require("testdata/real-tiny");
        Object result = Json.list(at(Json.list(at(Json.parse(dir.resolve("golden-200.json")), "files")).get(0), "results")).get(0);
        try (LanguageModel lm = LanguageModel.load(dir.resolve("stories260K.gguf"), (int) Json.lng(at(result, "n_ctx")), 1);
             Session session = lm.newSession()) {
            int[] tokens = Json.ints(at(result, "prompt_tokens"));
            assertArrayEquals(new int[] {lm.tokenizer().vocabulary().bos()}, tokens);
            session.prefill(tokens);
            compareGreedyTeacherForced(session, result);
            int[] greedy = Json.ints(at(result, "greedy", "tokens"));
            assertEquals(Json.str(at(result, "greedy", "text")), lm.tokenizer().decode(greedy, false, false));
        }
    }

    /**
     * Feeds the reference tokens and checks that at every step our argmax is the reference's, except
     * where the reference's own top-1 margin is a near-tie: there its token must be our first or second.
     */
    private static void compareGreedyTeacherForced(Session session, Object result) {
        int[] greedy = Json.ints(at(result, "greedy", "tokens"));
        List<Object> steps = Json.list(at(result, "greedy", "steps_top5"));
        int nearTies = 0;
        for (int step = 0; step < greedy.length; step++) {
            float[] logits = session.state().logits();
            List<Object> top5 = Json.list(steps.get(step));
            double margin = Json.dbl(Json.list(top5.get(0)).get(1)) - Json.dbl(Json.list(top5.get(1)).get(1));
            int ours = argmax(logits);
            if (margin < NEAR_TIE) {
                nearTies++;
                int second = (int) Json.lng(Json.list(top5.get(1)).get(0));
                assertTrue(ours == greedy[step] || ours == second, "step " + step + ": near-tie token " + ours);
            } else {
                assertEquals(greedy[step], ours, "greedy token at step " + step + " (reference margin " + margin + ")");
            }
            assertEquals(Json.dbl(Json.list(top5.get(0)).get(1)), logits[greedy[step]], 0.02, "top-1 logit at step " + step);
            if (step + 1 < greedy.length) session.append(greedy[step]);
        }
        assertTrue(nearTies <= 3, "more near-ties than the README names: " + nearTies);
    }
}
