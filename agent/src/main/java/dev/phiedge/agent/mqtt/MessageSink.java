package dev.phiedge.agent.mqtt;

/**
 * Where the pipeline sends what it publishes: the broker connection in the daemon, standard output
 * for {@code once}, a list in tests.
 */
@FunctionalInterface
public interface MessageSink {
    void publish(OutboundMessage message);
}
