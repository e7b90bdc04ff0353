package dev.phiedge.agent.config;

import java.nio.file.Path;

/**
 * Where the agent keeps what must survive a crash: the journal of accepted events and the outbox of
 * results and error reports not yet acknowledged by the broker.
 *
 * @param directory the store's folder; created on start, and owned by one agent at a time
 * @param maxBytes  the most the store may hold on disk; past it the oldest undelivered message is dropped
 *                  and counted
 */
public record StoreConfig(Path directory, long maxBytes) {

    public static final long DEFAULT_MAX_BYTES = 16L << 20;

    /**
     * The folder used when the configuration names none: {@code $STATE_DIRECTORY/store} under systemd (its
     * {@code StateDirectory=}), else {@code state/<device_id>} beside the configuration file.
     */
    public static Path defaultDirectory(Path configFolder, String deviceId, String stateDirectoryEnv) {
        if (stateDirectoryEnv != null && !stateDirectoryEnv.isBlank()) {
            // systemd passes a colon-separated list when the unit names several state directories
            return Path.of(stateDirectoryEnv.split(":")[0]).resolve("store");
        }
        return configFolder.resolve("state").resolve(deviceId.isEmpty() ? "agent" : deviceId);
    }
}
