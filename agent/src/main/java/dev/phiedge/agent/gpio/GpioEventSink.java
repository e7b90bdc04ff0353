package dev.phiedge.agent.gpio;

/**
 * Where input events go: the daemon publishes them on the broker (so routes, and anything else
 * subscribed, see them like any sensor reading) or hands them straight to its intake.
 */
@FunctionalInterface
public interface GpioEventSink {
    /** Called from the GPIO inputs' own thread, one event at a time; should not block for long. */
    void publish(String topic, byte[] payload);
}
