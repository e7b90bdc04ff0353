package dev.phiedge.agent.config;

import dev.phiedge.agent.tls.TlsConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How the agent talks to its broker.
 *
 * @param passwordFile     a file holding the password, so the password is never in the config itself
 * @param sessionExpiry    how long the broker keeps the session (and queued QoS 1 events) while away
 * @param reconnectInitial the first reconnect delay; it doubles up to {@code reconnectMax}
 * @param receiveMaximum   MQTT v5 Receive Maximum: how many QoS 1 events the broker may send before the agent
 *                         has acknowledged them; the back-pressure of a full queue
 */
public record MqttConfig(String url, String clientId, Optional<String> username, Optional<Path> passwordFile,
                         Optional<TlsConfig> tls, int keepaliveSeconds, long sessionExpirySeconds, String topicPrefix,
                         Duration reconnectInitial, Duration reconnectMax, int receiveMaximum) {

    public static final int DEFAULT_KEEPALIVE = 30;
    public static final long DEFAULT_SESSION_EXPIRY = 3600;
    public static final String DEFAULT_TOPIC_PREFIX = "edge-agent";
    public static final int DEFAULT_RECEIVE_MAXIMUM = 32;
}
