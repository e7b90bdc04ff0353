package dev.phiedge.agent.config;

import dev.phiedge.agent.gpio.GpioConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A whole, validated configuration file.
 *
 * @param source        the file it came from
 * @param store         the disk journal and outbox
 * @param statsInterval how often the stats message is published
 * @param gpio          the optional {@code gpio} section, parsed and checked against the routes
 * @param frigate       the optional {@code frigate} section: where routes with {@code frigate_description}
 *                      write their summaries back
 */
public record AgentConfig(Path source, String deviceId, MqttConfig mqtt, ModelConfig model, List<RouteConfig> routes,
                          LimitsConfig limits, StoreConfig store, Duration statsInterval,
                          Optional<GpioConfig> gpio, Optional<FrigateConfig> frigate) {

    public static final Duration DEFAULT_STATS_INTERVAL = Duration.ofSeconds(60);

    public AgentConfig {
        routes = List.copyOf(routes);
        java.util.Objects.requireNonNull(frigate, "frigate");
    }

    /** A configuration without a {@code frigate} section. */
    public AgentConfig(Path source, String deviceId, MqttConfig mqtt, ModelConfig model, List<RouteConfig> routes,
                       LimitsConfig limits, StoreConfig store, Duration statsInterval, Optional<GpioConfig> gpio) {
        this(source, deviceId, mqtt, model, routes, limits, store, statsInterval, gpio, Optional.empty());
    }

    /** {@code <topic_prefix>/<device_id>/<leaf>}: the agent's own status, stats and errors topics. */
    public String agentTopic(String leaf) {
        return mqtt.topicPrefix() + "/" + deviceId + "/" + leaf;
    }

    public Optional<RouteConfig> route(String name) {
        return routes.stream().filter(r -> r.name().equals(name)).findFirst();
    }
}
