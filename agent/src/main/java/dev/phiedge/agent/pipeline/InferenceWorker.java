package dev.phiedge.agent.pipeline;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.phiedge.agent.backend.ClassifyOutcome;
import dev.phiedge.agent.backend.InferenceBackend;
import dev.phiedge.agent.backend.InferenceOutcome;
import dev.phiedge.agent.backend.PromptTooLongException;
import dev.phiedge.agent.backend.SummaryOutcome;
import dev.phiedge.agent.telemetry.AgentStats;
import dev.phiedge.agent.telemetry.RejectReason;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.tinylog.Logger;

/**
 * The single thread that owns the model: it takes events one at a time (the runtime uses every core
 * for one inference, so a second worker would only thrash), runs them and publishes the answers.
 */
public final class InferenceWorker implements AutoCloseable {

    private final EventQueue queue;
    private final InferenceBackend backend;
    private final ResultPublisher results;
    private final ErrorReporter errors;
    private final AgentStats stats;
    private final BiConsumer<String, String> classified;
    private final BiConsumer<Event, String> summarized;
    private final Outbox outbox;
    private final Thread thread;
    private volatile boolean stopping;

    public InferenceWorker(EventQueue queue, InferenceBackend backend, ResultPublisher results, ErrorReporter errors,
                           AgentStats stats) {
        this(queue, backend, results, errors, stats, (route, label) -> { }, (event, text) -> { }, null);
    }

    /**
     * @param classified told {@code (route, label)} after each classification, before the result is
     *                   published (the GPIO rules: an alarm must not wait for the broker); it must not block
     * @param summarized told each summary with its event once it is durably queued (the Frigate write-back);
     *                   it must not block
     * @param outbox     the daemon's durable outbox: an answer counts as processed once it is on disk there;
     *                   null to publish through {@code results}' own sink
     */
    public InferenceWorker(EventQueue queue, InferenceBackend backend, ResultPublisher results, ErrorReporter errors,
                           AgentStats stats, BiConsumer<String, String> classified, BiConsumer<Event, String> summarized,
                           Outbox outbox) {
        this.classified = classified;
        this.summarized = summarized;
        this.outbox = outbox;
        this.queue = queue;
        this.backend = backend;
        this.results = results;
        this.errors = errors;
        this.stats = stats;
        this.thread = Thread.ofPlatform().name("inference-worker").unstarted(this::run);
    }

    public void start() {
        thread.start();
    }

    private void run() {
        while (!stopping) {
            try {
                queue.take(200, TimeUnit.MILLISECONDS).ifPresent(this::process);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Runs one event and publishes its result or its error; returns the result when there is one. */
    public Optional<ObjectNode> process(Event event) {
        long started = System.nanoTime();
        long queuedMs = TimeUnit.NANOSECONDS.toMillis(started - event.receivedNanos());
        try {
            InferenceOutcome outcome = switch (event.route().task()) {
                case CLASSIFY -> backend.classify(event.route().name(), event.route().system(), event.userPrompt(),
                        event.route().labels());
                case SUMMARIZE -> backend.summarize(event.route().name(), event.route().system(), event.userPrompt(),
                        event.route().maxTokens());
            };
            long inferenceNanos = System.nanoTime() - started;
            if (outcome instanceof ClassifyOutcome c) {
                notifyClassified(event.route().name(), c.label());
            }
            long inferenceMs = TimeUnit.NANOSECONDS.toMillis(inferenceNanos);
            ObjectNode result = results.result(event, outcome, queuedMs, inferenceMs);
            // Counted once durably queued and before anyone can receive it, so that whoever has seen a
            // result also sees it in the stats, and nothing counts as processed that a crash could lose.
            Runnable count = () -> stats.processed(queuedMs + inferenceMs, inferenceNanos, outcome.promptTokens(),
                    outcome.generatedTokens());
            if (outbox != null) {
                outbox.publishDurably(results.messages(event, result), event.receipt(), count);
            } else {
                count.run();
                results.publish(event, result);
                event.receipt().eventDone();
            }
            if (outcome instanceof SummaryOutcome summary) {
                notifySummarized(event, summary.text());
            }
            return Optional.of(result);
        } catch (PromptTooLongException e) {
            errors.report(event.sourceTopic(), Optional.of(event.route().name()), RejectReason.PROMPT_TOO_LONG,
                    e.getMessage(), Optional.of(event.eventId()));
        } catch (RuntimeException | Error e) {
            // Errors too (a stack overflow, an allocation failure): the worker thread must outlive any one event.
            Logger.error(e, "Inference failed for route {} (event {})", event.route().name(), event.eventId());
            errors.report(event.sourceTopic(), Optional.of(event.route().name()), RejectReason.INFERENCE_FAILED,
                    e.getClass().getSimpleName() + ": " + e.getMessage(), Optional.of(event.eventId()));
        }
        // Refused: the report is the answer.
        event.receipt().eventDone();
        if (outbox != null) {
            outbox.commit();
        }
        return Optional.empty();
    }

    private void notifySummarized(Event event, String text) {
        try {
            summarized.accept(event, text);
        } catch (RuntimeException e) {
            Logger.error(e, "Handing on the summary of event {} failed", event.eventId());
        }
    }

    private void notifyClassified(String route, String label) {
        try {
            classified.accept(route, label);
        } catch (RuntimeException e) {
            // an actuator failure must never cost the answer
            Logger.error(e, "Acting on {} {} failed", route, label);
        }
    }

    /** Lets the event in flight finish, then stops; waits for it. */
    @Override
    public void close() throws InterruptedException {
        stopping = true;
        thread.join();
    }
}
