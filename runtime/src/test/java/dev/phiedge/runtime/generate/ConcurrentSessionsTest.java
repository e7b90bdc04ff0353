package dev.phiedge.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.phiedge.runtime.testutil.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Two sessions of one {@link LanguageModel} on two threads at once give what each gives alone: the
 * same greedy tokens and the same last logits as the same work done one session after the other on
 * one thread. The expected values are computed here by those sequential runs (no hard-coded
 * outputs), on the reference models of shared/testdata: the tiny Phi-3 (phi3, Q4_0: integer decode
 * kernels, quantized batched prompt) and stories260K (llama, F32, GQA). Prompts are long enough for
 * the batched prompt path (the outer-product kernels from 16 positions) and the decode path, and
 * each thread repeats its work so that the two streams' products interleave many times.
 *
 * <p>Logits are compared within {@link #LOGIT_TOLERANCE}, not bit for bit: one session on one
 * thread, repeating the same prompt in one JVM, already moves them by up to 0.001 (stories260K, 30
 * repeats) while the JIT compiles the forward pass, so the last bits depend on timing, not on
 * sharing. Sessions that shared scratch (before each owned its own) gave wrong tokens, exceptions and
 * hangs here.
 */
class ConcurrentSessionsTest {
    private static final int TOKENS = 24;
    private static final int ROUNDS = 3;
    private static final float LOGIT_TOLERANCE = 0.01f;

    @ParameterizedTest(name = "{0} with {1} thread(s) per product")
    @CsvSource({
            "testdata/phi3-tiny/phi3-tiny-a.Q4_0.gguf, 1",
            "testdata/phi3-tiny/phi3-tiny-a.Q4_0.gguf, 2",
            "testdata/real-tiny/stories260K.gguf, 1",
            "testdata/real-tiny/stories260K.gguf, 2",
    })
    void twoSessionsOnTwoThreadsMatchSequentialRuns(String file, int threads) throws Exception {
        Path model = SharedData.require(file);
        try (LanguageModel lm = LanguageModel.load(model, 128, threads)) {
            List<int[]> prompts = prompts(lm, model);
            // Thread A takes the even prompts, thread B the odd ones, as two independent streams.
            List<int[]> a = new ArrayList<>(), b = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) (i % 2 == 0 ? a : b).add(prompts.get(i));

            run(lm, prompts, 1); // a warm-up, so that the expected runs use compiled kernels as the others mostly will
            List<Result> expectedA = run(lm, a, 1);
            List<Result> expectedB = run(lm, b, 1);

            CyclicBarrier start = new CyclicBarrier(2);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                Future<List<Result>> fa = pool.submit(() -> { start.await(); return run(lm, a, ROUNDS); });
                Future<List<Result>> fb = pool.submit(() -> { start.await(); return run(lm, b, ROUNDS); });
                List<Result> actualA = fa.get(5, TimeUnit.MINUTES);
                List<Result> actualB = fb.get(5, TimeUnit.MINUTES);
                compare(expectedA, actualA, "thread A");
                compare(expectedB, actualB, "thread B");
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /** Each prompt's greedy tokens and last logits. */
    private record Result(int[] tokens, float[] logits) { }

    /** One session works through the prompts {@code rounds} times (the cache is reused between prompts). */
    private static List<Result> run(LanguageModel lm, List<int[]> prompts, int rounds) {
        List<Result> out = new ArrayList<>();
        try (Session s = lm.newSession()) {
            for (int r = 0; r < rounds; r++) {
                for (int[] prompt : prompts) {
                    Generation g = s.generate(prompt, TOKENS, SamplerSettings.greedy(), GenerationListener.NONE, () -> false);
                    out.add(new Result(g.tokens(), s.state().logits().clone()));
                }
            }
        }
        return out;
    }

    private static void compare(List<Result> once, List<Result> concurrent, String who) {
        assertEquals(once.size() * ROUNDS, concurrent.size());
        for (int i = 0; i < concurrent.size(); i++) {
            Result expected = once.get(i % once.size());
            Result actual = concurrent.get(i);
            assertArrayEquals(expected.tokens(), actual.tokens(), who + ", run " + i + ": greedy tokens");
            assertArrayEquals(expected.logits(), actual.logits(), LOGIT_TOLERANCE, who + ", run " + i + ": last logits");
        }
    }

    /** The model's reference prompts, plus each with a different ending so that caches diverge. */
    private static List<int[]> prompts(LanguageModel lm, Path model) throws IOException {
        Path dir = model.getParent().resolve("prompts");
        List<int[]> out = new ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path p : files.sorted().toList()) {
                String text = Files.readString(p);
                out.add(lm.encodePrompt(text));
                out.add(lm.encodePrompt(text + " Once upon a time there was a little dog who liked to run."));
            }
        }
        return out;
    }
}
