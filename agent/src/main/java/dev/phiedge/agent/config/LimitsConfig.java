package dev.phiedge.agent.config;

/**
 * Bounds on what an event may be, so hostile or broken publishers cannot exhaust the device.
 *
 * @param maxPayloadBytes larger payloads are rejected as too large before they are decoded
 * @param maxJsonDepth    deeper JSON is rejected as too deeply nested
 * @param maxFieldChars   a string field longer than this is rejected before it reaches a prompt
 */
public record LimitsConfig(int maxPayloadBytes, int maxJsonDepth, int maxFieldChars) {
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;
    public static final int DEFAULT_MAX_JSON_DEPTH = 32;
    public static final int DEFAULT_MAX_FIELD_CHARS = 4096;

    public static LimitsConfig defaults() {
        return new LimitsConfig(DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_FIELD_CHARS);
    }
}
