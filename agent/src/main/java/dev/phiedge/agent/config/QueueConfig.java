package dev.phiedge.agent.config;

import dev.phiedge.agent.template.TemplateField;
import java.time.Duration;
import java.util.Optional;

/**
 * A route's queue settings.
 *
 * @param policy      what happens when the route's lane is full
 * @param coalesceKey the field that identifies "the same thing" for {@link QueuePolicy#COALESCE}
 * @param capacity    how many events of this route may wait
 * @param deadline    how long an event may wait before it is dropped as stale
 */
public record QueueConfig(QueuePolicy policy, Optional<TemplateField> coalesceKey, int capacity,
                          Optional<Duration> deadline) {

    public static final int DEFAULT_CAPACITY = 100;

    public static QueueConfig defaults() {
        return new QueueConfig(QueuePolicy.DROP_OLDEST, Optional.empty(), DEFAULT_CAPACITY, Optional.empty());
    }
}
