package dev.phiedge.agent.testing;

import dev.phiedge.agent.pipeline.ClassifyOutcome;
import dev.phiedge.agent.pipeline.InferenceBackend;
import dev.phiedge.agent.pipeline.PromptTooLongException;
import dev.phiedge.agent.pipeline.SummaryOutcome;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test double, not a model: it lets the MQTT and queue tests run before the Phi-3 runtime exists and
 * without its cost. Its answers follow a fixed, visible rule so tests can predict them: classify picks
 * the first label whose text appears in the prompt (else the first label) and gives it probability 1;
 * summarize echoes the prompt. A prompt longer than {@code maxPromptChars} is "too long". An optional
 * gate holds every call until the test opens it, so a test can fill the queue deterministically.
 */
public final class ScriptedTestBackend implements InferenceBackend {

    private final int maxPromptChars;
    private final CountDownLatch gate;
    private final AtomicInteger calls = new AtomicInteger();

    public ScriptedTestBackend(int maxPromptChars, CountDownLatch gate) {
        this.maxPromptChars = maxPromptChars;
        this.gate = gate;
    }

    public ScriptedTestBackend() {
        this(10_000, new CountDownLatch(0));
    }

    public int calls() {
        return calls.get();
    }

    @Override
    public String modelName() {
        return "scripted-test-backend";
    }

    private int tokens(String system, String prompt) throws PromptTooLongException {
        calls.incrementAndGet();
        try {
            gate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (prompt.length() > maxPromptChars) {
            throw new PromptTooLongException(prompt.length(), maxPromptChars);
        }
        return (system.length() + prompt.length()) / 4 + 1; // a made-up count, only for the fields
    }

    @Override
    public ClassifyOutcome classify(String route, String system, String userPrompt, List<String> labels)
            throws PromptTooLongException {
        int promptTokens = tokens(system, userPrompt);
        String chosen = labels.stream().filter(userPrompt::contains).findFirst().orElse(labels.getFirst());
        Map<String, Double> scores = new LinkedHashMap<>();
        labels.forEach(l -> scores.put(l, l.equals(chosen) ? 1.0 : 0.0));
        return new ClassifyOutcome(chosen, scores, promptTokens, 2);
    }

    @Override
    public SummaryOutcome summarize(String route, String system, String userPrompt, int maxTokens)
            throws PromptTooLongException {
        int promptTokens = tokens(system, userPrompt);
        return new SummaryOutcome("echo: " + userPrompt, promptTokens, 5);
    }
}
