package dev.phiedge.agent.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.testing.BrokerAndModel;
import dev.phiedge.runtime.tokenizer.ChatTemplate;
import dev.phiedge.runtime.tokenizer.Tokenizer;
import dev.phiedge.runtime.tokenizer.Vocabulary;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A prompt whose text alone cannot fit the context is refused from its length, before the tokenizer
 * runs; the estimate is a lower bound on the real count, so a prompt under it is tokenized and judged by
 * that count. On the demo model: the real Phi-3 vocabulary and a 512-token context.
 */
class RuntimeBackendPromptEstimateTest {
    private static final String SYSTEM = "You watch over a greenhouse. Classify each climate reading as normal, warning or critical.";
    private static final List<String> LABELS = List.of("normal", "warning", "critical");
    /** The longest Phi-3 piece by the measure of Vocabulary.longestPieceBytes: ▁ (1) and 13 Cyrillic letters (2 each). */
    private static final String LONGEST = "\u2581\u0430\u0434\u043c\u0438\u043d\u0438\u0441\u0442\u0440\u0430\u0442\u0438\u0432";

    private static RuntimeBackend backend;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws Exception {
        backend = RuntimeBackend.load(BrokerAndModel.DEMO_MODEL, BrokerAndModel.CONTEXT, 1);
        tokenizer = backend.languageModel().tokenizer();
    }

    @AfterAll
    static void close() {
        if (backend != null) {
            backend.close();
        }
    }

    private static long allocatedBy(Runnable action) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        action.run();
        return threads.getCurrentThreadAllocatedBytes() - before;
    }

    @Test
    void theLongestPhi3PieceIsTwentySevenBytes() {
        Vocabulary vocabulary = tokenizer.vocabulary();
        assertEquals("▁административ", LONGEST);
        assertTrue(vocabulary.id(LONGEST).isPresent());
        assertEquals(27, vocabulary.longestPieceBytes());
        // Sixteen ▁ are 48 UTF-8 bytes but stand for sixteen spaces: 16 by this measure.
        assertTrue(vocabulary.id("\u2581".repeat(16)).isPresent());
    }

    @Test
    void aMegabytePromptIsRefusedFromItsLengthWithoutTokenizing() {
        String reading = "temperature 21.5 C, humidity 48 %, ";
        String prompt = reading.repeat(1_048_576 / reading.length() + 1); // just over 1 MiB, all ASCII
        long[] bytes = {prompt.length()};
        PromptTooLongException[] refused = new PromptTooLongException[2];
        // Tokenizing a megabyte allocates tens of megabytes (four int arrays per character alone); the
        // estimate allocates next to nothing, and the refusal comes before the labels are even looked at.
        long allocated = allocatedBy(() -> {
            refused[0] = assertThrows(PromptTooLongException.class, () -> backend.classify("r", SYSTEM, prompt, LABELS));
            refused[1] = assertThrows(PromptTooLongException.class, () -> backend.summarize("r", SYSTEM, prompt, 8));
        });
        assertTrue(allocated < 1_000_000, allocated + " bytes allocated");
        for (PromptTooLongException e : refused) {
            assertTrue(e.getMessage().contains("estimated"), e.getMessage());
            assertTrue(e.getMessage().contains(bytes[0] + " bytes"), e.getMessage());
            assertTrue(e.getMessage().contains("512"), e.getMessage());
            // Of the spaces, only the one at the very end may be stripped (by the <|end|> after it).
            assertEquals((bytes[0] - 1 + 26) / 27, e.promptTokens());
            assertEquals(512, e.contextLength());
        }
    }

    @Test
    void aPromptJustUnderTheBoundIsTokenizedAndJudgedByItsRealCount() {
        // 511 * 27 = 13797 bytes: at least 511 tokens, under the 512 of the context, so it is tokenized;
        // its real count (a run of x is far from 27 bytes a token) is what refuses it.
        PromptTooLongException real = assertThrows(PromptTooLongException.class,
                () -> backend.classify("r", SYSTEM, "x".repeat(13_797), LABELS));
        assertFalse(real.getMessage().contains("estimated"), real.getMessage());
        assertTrue(real.promptTokens() > 512, real.getMessage());
        // One byte more: at least ceil(13798 / 27) = 512 tokens, refused by the estimate alone.
        PromptTooLongException estimated = assertThrows(PromptTooLongException.class,
                () -> backend.classify("r", SYSTEM, "x".repeat(13_798), LABELS));
        assertTrue(estimated.getMessage().contains("estimated"), estimated.getMessage());
        assertEquals(512, estimated.promptTokens());
    }

    @Test
    void aPromptThatFitsIsAnsweredAndTheBoundCanBeReachedExactly() throws Exception {
        ClassifyOutcome outcome = backend.classify("r", SYSTEM,
                "Zone 3: temperature 44.0 C, humidity 50 %, soil moisture 40 %, CO2 900 ppm.", LABELS);
        assertEquals("critical", outcome.label(), "temperature >= 40 is critical");
        // Twenty times the longest piece: 26 + 19 * 27 = 539 bytes (the first has no space before it),
        // at least ceil(539 / 27) = 20 tokens, and the tokenizer does use exactly 20: the bound is tight.
        String words = String.join(" ", java.util.Collections.nCopies(20, LONGEST.substring(1)));
        assertEquals(20, TokenLowerBound.of(tokenizer.vocabulary()).estimate(words).minimumTokens());
        assertEquals(20, contentTokens(words));
    }

    /** The tokens a user message's text adds to the chat prompt. */
    private static int contentTokens(String text) {
        return ChatTemplate.phi3().encode(tokenizer, List.of(ChatTemplate.Message.user(text)), false).length
                - ChatTemplate.phi3().encode(tokenizer, List.of(ChatTemplate.Message.user("")), false).length;
    }

    @Test
    void theEstimateNeverExceedsTheRealCount() {
        // Texts made to be cheap to tokenize: long pieces, runs of spaces and ▁ (one byte each by the
        // measure), whitespace a stripping special token can eat (</s> is USER_DEFINED with RSTRIP in
        // Phi-3), chat markers (plain text inside a message), emoji, a lone surrogate.
        List<String> parts = List.of(LONGEST.substring(1), " " + LONGEST.substring(1), " ", "    ", "\n", "\t\t",
                "\u2581", "\u2581".repeat(16), " ".repeat(16), "x", "temperature", " 21.5", "\uD83D\uDE00", "é",
                "</s>", "</s>   \n  ", "<|end|>", "<s>", "\uD800", "................", "________________");
        TokenLowerBound bound = TokenLowerBound.of(tokenizer.vocabulary());
        // </s> swallows the whitespace after it: 2700 spaces cost no token, so they must not count.
        String swallowed = "</s>" + " ".repeat(2700) + "x";
        // Nothing precedes </s> in its turn (<|user|> strips its newline), so: </s>, then ▁x.
        assertEquals(2, contentTokens(swallowed));
        assertTrue(bound.estimate(swallowed).minimumTokens() <= 2);
        // Leading whitespace is stripped by <|user|> before the message (RSTRIP): 2700 spaces, then ▁x.
        String padded = " ".repeat(2700) + "x";
        assertEquals(1, contentTokens(padded));
        assertEquals(1, bound.estimate(padded).minimumTokens());
        // Trailing whitespace is not counted either (an <|end|> with LSTRIP would strip it), though Phi-3's
        // does not: each newline here is a byte token.
        String trailing = "x" + "\n".repeat(2700);
        assertEquals(2701, contentTokens(trailing));
        assertEquals(1, bound.estimate(trailing).minimumTokens());
        Random random = new Random(20_240_601);
        for (int i = 0; i < 400; i++) {
            StringBuilder text = new StringBuilder();
            for (int n = random.nextInt(60); n > 0; n--) {
                text.append(parts.get(random.nextInt(parts.size())));
            }
            String t = text.toString();
            long estimate = bound.estimate(t).minimumTokens();
            int real = contentTokens(t);
            assertTrue(estimate <= real, "estimated " + estimate + " > real " + real + " for [" + t + "]");
        }
    }
}
