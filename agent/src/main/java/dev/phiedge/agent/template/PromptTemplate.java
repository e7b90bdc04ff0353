package dev.phiedge.agent.template;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A route's prompt or publish-topic template, rendered exactly as ../shared/models/demo/README.md says
 * (the demo model answers correctly only for prompts rendered this way):
 * <ul>
 *   <li>{@code {a.b}} is a path into the JSON payload; {@code {$topic[N]}} is level N of the topic, from 0;
 *       {@code {$device}} is the device id; {@code {$payload}} is the payload text as received;</li>
 *   <li>a number renders as the payload wrote it (21.0 stays 21.0, 72 stays 72); a string as its text;</li>
 *   <li>an array renders as its elements joined by ", "; an empty array or null renders as {@code none}.</li>
 * </ul>
 * There is no escape for braces: a lone '{' or '}' is a syntax error, reported at configuration time.
 */
public final class PromptTemplate {

    /** What a null or an empty array renders as. */
    public static final String NONE = "none";

    private final String source;
    private final List<Object> parts; // String literals and TemplateField placeholders, in order

    private PromptTemplate(String source, List<Object> parts) {
        this.source = source;
        this.parts = List.copyOf(parts);
    }

    public static PromptTemplate parse(String source) throws TemplateSyntaxException {
        List<Object> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < source.length()) {
            char c = source.charAt(i);
            if (c == '{') {
                int close = source.indexOf('}', i + 1);
                int nested = source.indexOf('{', i + 1);
                if (close < 0 || (nested >= 0 && nested < close)) {
                    throw new TemplateSyntaxException("unclosed '{' at character " + (i + 1));
                }
                if (!literal.isEmpty()) {
                    parts.add(literal.toString());
                    literal.setLength(0);
                }
                parts.add(TemplateField.parse(source.substring(i + 1, close)));
                i = close + 1;
            } else if (c == '}') {
                throw new TemplateSyntaxException("'}' without '{' at character " + (i + 1));
            } else {
                literal.append(c);
                i++;
            }
        }
        if (!literal.isEmpty()) {
            parts.add(literal.toString());
        }
        return new PromptTemplate(source, parts);
    }

    /** The template as written. */
    public String source() {
        return source;
    }

    /** The placeholders, in order, for static checks against the route's topic filter. */
    public List<TemplateField> fields() {
        List<TemplateField> out = new ArrayList<>();
        for (Object part : parts) {
            if (part instanceof TemplateField field) {
                out.add(field);
            }
        }
        return out;
    }

    public String render(TemplateInput input) throws MissingFieldException {
        StringBuilder out = new StringBuilder(source.length() + 64);
        for (Object part : parts) {
            if (part instanceof String literal) {
                out.append(literal);
            } else {
                out.append(renderField((TemplateField) part, input));
            }
        }
        return out.toString();
    }

    /** Renders one placeholder on its own; coalesce keys use this. */
    public static String renderField(TemplateField field, TemplateInput input) throws MissingFieldException {
        return switch (field) {
            case TemplateField.Device d -> input.deviceId();
            case TemplateField.Payload p -> input.rawPayload();
            case TemplateField.TopicLevel t -> {
                List<String> levels = splitTopic(input.topic());
                if (t.index() >= levels.size()) {
                    throw new MissingFieldException(t.source(), "{" + t.source() + "}: topic '" + input.topic()
                            + "' has only " + levels.size() + " levels (counted from 0)");
                }
                yield levels.get(t.index());
            }
            case TemplateField.PayloadPath p -> renderValue(resolve(p, input.payload()));
        };
    }

    private static JsonNode resolve(TemplateField.PayloadPath path, JsonNode payload) throws MissingFieldException {
        JsonNode node = payload;
        for (String segment : path.segments()) {
            JsonNode next = null;
            if (node != null && node.isObject()) {
                next = node.get(segment);
            } else if (node != null && node.isArray() && segment.matches("[0-9]{1,9}")) {
                next = node.get(Integer.parseInt(segment));
            }
            if (next == null) {
                throw new MissingFieldException(path.source(), "{" + path.source() + "}: the payload has no field '"
                        + String.join(".", path.segments()) + "'");
            }
            node = next;
        }
        return node;
    }

    /** The README's value rules; nested objects, which it does not cover, render as compact JSON. */
    static String renderValue(JsonNode node) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isBigDecimal()) {
            return node.decimalValue().toPlainString();
        }
        if (node.isNumber() || node.isBoolean()) {
            return node.asText();
        }
        if (node.isArray()) {
            if (node.isEmpty()) {
                return NONE;
            }
            StringBuilder out = new StringBuilder();
            for (JsonNode element : node) {
                if (!out.isEmpty()) {
                    out.append(", ");
                }
                out.append(renderValue(element));
            }
            return out.toString();
        }
        return node.toString();
    }

    private static List<String> splitTopic(String topic) {
        return List.of(topic.split("/", -1));
    }

    @Override
    public String toString() {
        return source;
    }
}
