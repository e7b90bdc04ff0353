package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.config.RouteConfig;
import java.util.Optional;

/**
 * An event accepted for one route, already rendered, waiting for the model.
 *
 * @param publishTopic  the route's publish template, rendered for this event
 * @param coalesceKey   the rendered coalesce key, for {@link dev.phiedge.agent.config.QueuePolicy#COALESCE}
 * @param receivedNanos {@link System#nanoTime()} at arrival
 * @param deadlineNanos {@link System#nanoTime()} past which the event is stale; {@link Long#MAX_VALUE} if none
 * @param mustNotDrop   a QoS 1 event (or one read back from the journal): a full lane waits for room instead
 *                      of applying the route's drop policy
 * @param receipt       its message's journal entry, told when this event is finished with
 */
public record Event(RouteConfig route, String sourceTopic, String userPrompt, String publishTopic, String eventId,
                    Optional<String> responseTopic, Optional<byte[]> correlationData, Optional<String> coalesceKey,
                    long receivedNanos, long deadlineNanos, boolean mustNotDrop, Receipt receipt) {

    /** An event outside the journal, dropped by its route's policy when its lane is full. */
    public Event(RouteConfig route, String sourceTopic, String userPrompt, String publishTopic, String eventId,
                 Optional<String> responseTopic, Optional<byte[]> correlationData, Optional<String> coalesceKey,
                 long receivedNanos, long deadlineNanos) {
        this(route, sourceTopic, userPrompt, publishTopic, eventId, responseTopic, correlationData, coalesceKey,
                receivedNanos, deadlineNanos, false, Receipt.NONE);
    }

    /** The same event, journaled under {@code receipt}. */
    public Event journaled(Receipt receipt, boolean mustNotDrop) {
        return new Event(route, sourceTopic, userPrompt, publishTopic, eventId, responseTopic, correlationData,
                coalesceKey, receivedNanos, deadlineNanos, mustNotDrop, receipt);
    }

    public boolean expiredAt(long nanos) {
        return nanos - deadlineNanos > 0;
    }
}
