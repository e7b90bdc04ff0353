package dev.phiedge.agent.mqtt;

import java.util.Optional;

/**
 * A message the agent publishes.
 *
 * @param correlationData MQTT v5 correlation data, echoed when answering a request
 */
public record OutboundMessage(String topic, byte[] payload, int qos, boolean retain, Optional<byte[]> correlationData) {

    public static OutboundMessage of(String topic, byte[] payload, int qos, boolean retain) {
        return new OutboundMessage(topic, payload, qos, retain, Optional.empty());
    }
}
