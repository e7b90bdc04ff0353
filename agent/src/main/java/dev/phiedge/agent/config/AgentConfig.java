package dev.phiedge.agent.config;

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
 * @param homeAssistant the {@code homeassistant} section: MQTT discovery, off unless enabled
 * @param http          the optional {@code http} section: /metrics and /healthz
 */
public record AgentConfig(Path source, String deviceId, MqttConfig mqtt, ModelSettings model, List<RouteConfig> routes,
                          LimitsConfig limits, StoreConfig store, Duration statsInterval,
                          Optional<GpioConfig> gpio, Optional<FrigateConfig> frigate,
                          HomeAssistantSettings homeAssistant, Optional<HttpSettings> http) {

    public static final Duration DEFAULT_STATS_INTERVAL = Duration.ofSeconds(60);

    public AgentConfig {
        routes = List.copyOf(routes);
        java.util.Objects.requireNonNull(frigate, "frigate");
        java.util.Objects.requireNonNull(homeAssistant, "homeAssistant");
        java.util.Objects.requireNonNull(http, "http");
    }

    /** A configuration without the {@code frigate}, {@code homeassistant} and {@code http} sections. */
    public AgentConfig(Path source, String deviceId, MqttConfig mqtt, ModelSettings model, List<RouteConfig> routes,
                       LimitsConfig limits, StoreConfig store, Duration statsInterval, Optional<GpioConfig> gpio) {
        this(source, deviceId, mqtt, model, routes, limits, store, statsInterval, gpio, Optional.empty(),
                HomeAssistantSettings.disabled(), Optional.empty());
    }

    /** A configuration without the {@code homeassistant} and {@code http} sections. */
    public AgentConfig(Path source, String deviceId, MqttConfig mqtt, ModelSettings model, List<RouteConfig> routes,
                       LimitsConfig limits, StoreConfig store, Duration statsInterval, Optional<GpioConfig> gpio,
                       Optional<FrigateConfig> frigate) {
        this(source, deviceId, mqtt, model, routes, limits, store, statsInterval, gpio, frigate,
                HomeAssistantSettings.disabled(), Optional.empty());
    }

    /** The same configuration with another store (the demo's fresh one). */
    public AgentConfig withStore(StoreConfig other) {
        return new AgentConfig(source, deviceId, mqtt, model, routes, limits, other, statsInterval, gpio, frigate,
                homeAssistant, http);
    }

    /** The same configuration with other routes ({@code once} runs one). */
    public AgentConfig withRoutes(List<RouteConfig> other) {
        return new AgentConfig(source, deviceId, mqtt, model, other, limits, store, statsInterval, gpio, frigate,
                homeAssistant, http);
    }

    /** The same configuration on another broker connection (the demo's embedded broker). */
    public AgentConfig withMqtt(MqttConfig other) {
        return new AgentConfig(source, deviceId, other, model, routes, limits, store, statsInterval, gpio, frigate,
                homeAssistant, http);
    }

    /** {@code <topic_prefix>/<device_id>/<leaf>}: the agent's own status, stats and errors topics. */
    public String agentTopic(String leaf) {
        return mqtt.topicPrefix() + "/" + deviceId + "/" + leaf;
    }

    public Optional<RouteConfig> route(String name) {
        return routes.stream().filter(r -> r.name().equals(name)).findFirst();
    }
}
