package dev.phiedge.agent.mqtt;

import java.util.Optional;

/**
 * A message as it came off the wire, copied out of Paho's objects so nothing of Paho's threads or
 * buffers escapes {@link MqttConnection}.
 *
 * @param messageExpirySeconds MQTT v5 message expiry as the broker forwarded it (time left), if set
 * @param receivedNanos        {@link System#nanoTime()} at arrival, for queue latency and deadlines
 * @param duplicate            the broker sent it again (DUP): it may already be in the agent's journal
 * @param fromAgent            it carries the mark every edge agent puts on what it publishes
 *                             ({@link MqttConnection#AGENT_PROPERTY}): an agent never answers an agent
 * @param acknowledgement      tells the broker the message is safe (the PUBACK of a QoS 1 message); does
 *                             nothing for QoS 0, for messages not from the broker, or when the connection
 *                             it came on is gone (the broker then sends it again)
 */
public record InboundMessage(String topic, byte[] payload, int qos, boolean retained, Optional<String> responseTopic,
                             Optional<byte[]> correlationData, Optional<Long> messageExpirySeconds,
                             long receivedNanos, boolean duplicate, boolean fromAgent, Runnable acknowledgement) {

    /** A message that needs no acknowledgement: from GPIO, the command line, or read back from the journal. */
    public InboundMessage(String topic, byte[] payload, int qos, boolean retained, Optional<String> responseTopic,
                          Optional<byte[]> correlationData, Optional<Long> messageExpirySeconds, long receivedNanos) {
        this(topic, payload, qos, retained, responseTopic, correlationData, messageExpirySeconds, receivedNanos,
                false, false, () -> { });
    }

    /** Acknowledges the message to the broker (see {@code acknowledgement}). Never throws. */
    public void acknowledge() {
        acknowledgement.run();
    }
}
