package dev.phiedge.agent.testing;

import dev.phiedge.agent.backend.ClassifyOutcome;
import dev.phiedge.agent.backend.InferenceBackend;
import dev.phiedge.agent.backend.PromptTooLongException;
import dev.phiedge.agent.backend.SummaryOutcome;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real backend with a gate in front of it: every call waits until the gate is open, then goes to the
 * real model unchanged. Only timing is controlled (a test can hold the worker inside its first event
 * while a burst arrives); every answer still comes from the model.
 *
 * <p>The test class owns the model it wraps: {@link #close()} (called when an agent shuts down) leaves
 * it loaded, so one model serves every test of the class.
 */
public final class GatedBackend implements InferenceBackend {

    private final InferenceBackend model;
    private final CountDownLatch gate;
    private final AtomicInteger calls = new AtomicInteger();

    private GatedBackend(InferenceBackend model, boolean open) {
        this.model = model;
        this.gate = new CountDownLatch(open ? 0 : 1);
    }

    /** Passes every call straight through. */
    public static GatedBackend open(InferenceBackend model) {
        return new GatedBackend(model, true);
    }

    /** Holds every call until {@link #openGate()}. */
    public static GatedBackend closed(InferenceBackend model) {
        return new GatedBackend(model, false);
    }

    public void openGate() {
        gate.countDown();
    }

    /** Calls that reached the gate so far (held or answered). */
    public int calls() {
        return calls.get();
    }

    private void pass() {
        calls.incrementAndGet();
        try {
            gate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String modelName() {
        return model.modelName();
    }

    @Override
    public ClassifyOutcome classify(String route, String system, String userPrompt, List<String> labels)
            throws PromptTooLongException {
        pass();
        return model.classify(route, system, userPrompt, labels);
    }

    @Override
    public SummaryOutcome summarize(String route, String system, String userPrompt, int maxTokens)
            throws PromptTooLongException {
        pass();
        return model.summarize(route, system, userPrompt, maxTokens);
    }

    /** Opens the gate so no worker stays stuck; the model stays loaded for the next test. */
    @Override
    public void close() {
        openGate();
    }
}
