package dev.phiedge.agent.template;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a template is rendered from.
 *
 * @param payload    the payload parsed by {@link PayloadReader} (numbers keep their JSON text)
 * @param rawPayload the payload text as received, for {@code {$payload}}
 * @param topic      the topic the event arrived on
 * @param deviceId   the configured device_id
 */
public record TemplateInput(JsonNode payload, String rawPayload, String topic, String deviceId) {}
