package dev.phiedge.agent.mqtt;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Capped exponential backoff with jitter for reconnecting: a fleet of devices that lost the same broker
 * must not all come back in the same millisecond, and a device must not hammer a broker that is down.
 */
public final class ReconnectBackoff {
    private final Duration initial;
    private final Duration max;
    private Duration next;

    public ReconnectBackoff(Duration initial, Duration max) {
        this.initial = initial;
        this.max = max.compareTo(initial) < 0 ? initial : max;
        this.next = initial;
    }

    /** The delay before the next attempt: the current step plus up to 20% jitter; then the step doubles. */
    public synchronized Duration nextDelay() {
        Duration current = next;
        Duration doubled = next.multipliedBy(2);
        next = doubled.compareTo(max) > 0 ? max : doubled;
        long jitter = ThreadLocalRandom.current().nextLong(current.toMillis() / 5 + 1);
        return current.plusMillis(jitter);
    }

    /** After a successful connection the next loss starts again from the initial delay. */
    public synchronized void reset() {
        next = initial;
    }
}
