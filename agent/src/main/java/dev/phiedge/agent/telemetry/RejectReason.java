package dev.phiedge.agent.telemetry;

/**
 * Why an event was refused; each refusal is published on the errors topic with its source topic. The
 * template's {@code TemplateRenderException.Kind} and the payload reader's {@code PayloadException.Kind}
 * constants have a reason of the same name: map them with {@code RejectReason.valueOf(kind.name())}.
 */
public enum RejectReason {
    TOO_LARGE,
    NOT_UTF8,
    /** Binary data (an image, for example a Frigate snapshot): events are text; image input is not supported. */
    BINARY_PAYLOAD,
    NOT_JSON,
    TOO_DEEP,
    /** A number too long to render (or, in the payload, longer than the JSON reader accepts). */
    BAD_NUMBER,
    MISSING_FIELD,
    /** A placeholder's value is longer than limits.max_field_chars. */
    FIELD_TOO_LONG,
    /** A typed placeholder ({x:number}, {x:int}, ...) found a value of another type. */
    WRONG_TYPE,
    INVALID_PUBLISH_TOPIC,
    PROMPT_TOO_LONG,
    INFERENCE_FAILED;

    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
