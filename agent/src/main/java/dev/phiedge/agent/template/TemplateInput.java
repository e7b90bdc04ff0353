package dev.phiedge.agent.template;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a template is rendered from.
 *
 * @param payload       the payload parsed by {@link PayloadReader} (numbers keep their JSON text)
 * @param rawPayload    the payload text as received, for {@code {$payload}}
 * @param topic         the topic the event arrived on
 * @param deviceId      the configured device_id
 * @param maxFieldChars the most characters (Unicode code points) one placeholder may render to; a longer
 *                      value is refused with {@link TemplateRenderException.Kind#FIELD_TOO_LONG}.
 *                      {@code {$payload}} is exempt: the payload size limit already bounds it. The
 *                      configuration key is {@code limits.max_field_chars}; pass its value here.
 */
public record TemplateInput(JsonNode payload, String rawPayload, String topic, String deviceId, int maxFieldChars) {

    /** The default of {@code limits.max_field_chars}. */
    public static final int DEFAULT_MAX_FIELD_CHARS = 4096;

    public TemplateInput {
        if (maxFieldChars < 1) {
            throw new IllegalArgumentException("maxFieldChars must be at least 1, got " + maxFieldChars);
        }
    }

    /** An input with the default per-field limit, {@value #DEFAULT_MAX_FIELD_CHARS} characters. */
    public TemplateInput(JsonNode payload, String rawPayload, String topic, String deviceId) {
        this(payload, rawPayload, topic, deviceId, DEFAULT_MAX_FIELD_CHARS);
    }
}
