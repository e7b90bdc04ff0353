package dev.phiedge.agent.pipeline;

/** Why an event was refused; each refusal is published on the errors topic with its source topic. */
public enum RejectReason {
    TOO_LARGE,
    NOT_UTF8,
    NOT_JSON,
    TOO_DEEP,
    MISSING_FIELD,
    INVALID_PUBLISH_TOPIC,
    PROMPT_TOO_LONG,
    INFERENCE_FAILED;

    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
