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
 */
public record Event(RouteConfig route, String sourceTopic, String userPrompt, String publishTopic, String eventId,
                    Optional<String> responseTopic, Optional<byte[]> correlationData, Optional<String> coalesceKey,
                    long receivedNanos, long deadlineNanos) {

    public boolean expiredAt(long nanos) {
        return nanos - deadlineNanos > 0;
    }
}
