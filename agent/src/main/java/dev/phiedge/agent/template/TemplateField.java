package dev.phiedge.agent.template;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One {@code {...}} placeholder of a template, parsed. The set of variables is closed on purpose: a
 * misspelt {@code {$devce}} is a configuration error, never an empty string in a prompt.
 */
public sealed interface TemplateField {

    /** The placeholder as written between the braces, for messages. */
    String source();

    /**
     * {@code {a.b.c}}: a path into the JSON payload; a numeric segment also indexes an array. Written
     * {@code {a.b:format|default}}, both parts optional: {@code format} is a {@link FieldFormat} and
     * {@code default} the text rendered when the field is missing or null.
     *
     * @param format      how the value renders; {@link FieldFormat#AS_WRITTEN} for {@code {a.b}}
     * @param defaultText the text after '|', exactly as written up to '}' (may be empty), if any
     */
    record PayloadPath(String source, List<String> segments, FieldFormat format, Optional<String> defaultText)
            implements TemplateField {
        public PayloadPath {
            segments = List.copyOf(segments);
            Objects.requireNonNull(format, "format");
            Objects.requireNonNull(defaultText, "defaultText");
        }

        /** An untyped path without a default, {@code {a.b}}. */
        public PayloadPath(String source, List<String> segments) {
            this(source, segments, FieldFormat.AS_WRITTEN, Optional.empty());
        }

        /** The value at this path in {@code payload}, or null when a key or index along it is missing. */
        public JsonNode resolve(JsonNode payload) {
            return resolve(segments, payload);
        }

        /** The value at {@code segments}: keys of objects, or indexes of arrays where a segment is a number. */
        static JsonNode resolve(List<String> segments, JsonNode payload) {
            JsonNode node = payload;
            for (String segment : segments) {
                JsonNode next = null;
                if (node != null && node.isObject()) {
                    next = node.get(segment);
                } else if (node != null && node.isArray() && segment.matches("[0-9]{1,9}")) {
                    next = node.get(Integer.parseInt(segment));
                }
                if (next == null) {
                    return null;
                }
                node = next;
            }
            return node;
        }

        /** The keys joined by dots, as in messages. */
        public String path() {
            return String.join(".", segments);
        }
    }

    /** {@code {$topic[N]}}: level N of the topic the event arrived on, counted from 0. */
    record TopicLevel(String source, int index) implements TemplateField {}

    /** {@code {$device}}: the configured device_id. */
    record Device(String source) implements TemplateField {}

    /** {@code {$payload}}: the whole payload text, as received. */
    record Payload(String source) implements TemplateField {}

    /**
     * Parses the text between braces; throws with a message naming what is wrong. The first '|' starts
     * the default and the first ':' before it the format, so a payload key containing ':' or '|' cannot
     * be named.
     */
    static TemplateField parse(String source) throws TemplateSyntaxException {
        int bar = source.indexOf('|');
        Optional<String> defaultText = bar < 0 ? Optional.empty() : Optional.of(source.substring(bar + 1));
        String s = (bar < 0 ? source : source.substring(0, bar)).strip();
        int colon = s.indexOf(':');
        FieldFormat format = FieldFormat.AS_WRITTEN;
        if (colon >= 0) {
            format = FieldFormat.parse(source, s.substring(colon + 1).strip());
            s = s.substring(0, colon).strip();
        }
        if (s.isEmpty()) {
            throw new TemplateSyntaxException(source.isBlank() ? "empty placeholder {}"
                    : "{" + source + "}: no field before the format or default");
        }
        if (s.startsWith("$") && (bar >= 0 || colon >= 0)) {
            throw new TemplateSyntaxException("{" + source + "}: formats and defaults apply to payload fields only, "
                    + "not to {$topic[N]}, {$device} or {$payload}");
        }
        if (s.startsWith("$")) {
            if (s.equals("$device")) {
                return new Device(source);
            }
            if (s.equals("$payload")) {
                return new Payload(source);
            }
            if (s.startsWith("$topic[") && s.endsWith("]")) {
                String digits = s.substring("$topic[".length(), s.length() - 1);
                if (!digits.matches("[0-9]{1,4}")) {
                    throw new TemplateSyntaxException("{" + source + "}: the level must be a number from 0, as in {$topic[1]}");
                }
                return new TopicLevel(source, Integer.parseInt(digits));
            }
            throw new TemplateSyntaxException("{" + source + "}: unknown variable; the variables are "
                    + "{$topic[N]}, {$device} and {$payload}");
        }
        String[] parts = s.split("\\.", -1);
        for (String part : parts) {
            if (part.isEmpty()) {
                throw new TemplateSyntaxException("{" + source + "}: a payload path is keys separated by single dots");
            }
            if (part.contains("{") || part.contains("}")) {
                throw new TemplateSyntaxException("{" + source + "}: braces cannot be nested");
            }
        }
        return new PayloadPath(source, List.of(parts), format, defaultText);
    }
}
