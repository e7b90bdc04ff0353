package dev.phiedge.agent.mqtt;

import java.util.Optional;

/**
 * A message as it came off the wire, copied out of Paho's objects so nothing of Paho's threads or
 * buffers escapes {@link MqttConnection}.
 *
 * @param messageExpirySeconds MQTT v5 message expiry as the broker forwarded it (time left), if set
 * @param receivedNanos        {@link System#nanoTime()} at arrival, for queue latency and deadlines
 */
public record InboundMessage(String topic, byte[] payload, int qos, boolean retained, Optional<String> responseTopic,
                             Optional<byte[]> correlationData, Optional<Long> messageExpirySeconds,
                             long receivedNanos) {}
