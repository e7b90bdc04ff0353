package dev.phiedge.agent.config;

/**
 * Bounds on what an event may be, so hostile or broken publishers cannot exhaust the device.
 *
 * @param maxPayloadBytes larger payloads are rejected as too large before they are decoded
 * @param maxJsonDepth    deeper JSON is rejected as too deeply nested
 */
public record LimitsConfig(int maxPayloadBytes, int maxJsonDepth) {
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;
    public static final int DEFAULT_MAX_JSON_DEPTH = 32;

    public static LimitsConfig defaults() {
        return new LimitsConfig(DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_JSON_DEPTH);
    }
}
