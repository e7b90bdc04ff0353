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
 *   <li>a number renders as the payload wrote it (21.0 stays 21.0, 72 stays 72, 1.5e3 is 1500); a string
 *       as its text;</li>
 *   <li>an array renders as its elements joined by ", "; an empty array or null renders as {@code none}.</li>
 * </ul>
 * Beyond the README, for new templates: {@code {a.b:format}} types the value ({@link FieldFormat}:
 * {@code number}, {@code int}, {@code %.Nf}, {@code percent}), and {@code {a.b|text}} renders
 * {@code text} when the field is missing or null (both: {@code {a.b:%.1f|n/a}}). Bounds: a number
 * renders to at most {@link #MAX_NUMBER_CHARS} characters, else BAD_NUMBER; a placeholder other than
 * {@code {$payload}} to at most {@link TemplateInput#maxFieldChars()}, else FIELD_TOO_LONG.
 * There is no escape for braces: a lone '{' or '}' is a syntax error, reported at configuration time.
 */
public final class PromptTemplate {

    /** What a null or an empty array renders as. */
    public static final String NONE = "none";

    /**
     * The longest text a number may render to, sign and point included. A JSON number is a few
     * characters of payload but may stand for a huge text: {@code 1e10000000} written out is ten million
     * digits, which would exhaust a small device's heap (and the prompt's context) before the model ever
     * saw it. No reading needs more: a long is at most 20 characters, a double's 17 significant digits
     * with sign and point 19; 32 leaves room for decimals written with extra precision.
     */
    public static final int MAX_NUMBER_CHARS = 32;

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

    /**
     * Renders the template. Every placeholder but {@code {$payload}} is bounded by
     * {@link TemplateInput#maxFieldChars()}; numbers by {@link #MAX_NUMBER_CHARS}.
     *
     * @throws TemplateRenderException the event does not fit the template; {@code kind()} says why
     */
    public String render(TemplateInput input) throws TemplateRenderException {
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
    public static String renderField(TemplateField field, TemplateInput input) throws TemplateRenderException {
        return switch (field) {
            case TemplateField.Device d -> bounded(d.source(), input.deviceId(), input.maxFieldChars());
            case TemplateField.Payload p -> input.rawPayload(); // exempt: the payload size limit bounds it
            case TemplateField.TopicLevel t -> {
                List<String> levels = splitTopic(input.topic());
                if (t.index() >= levels.size()) {
                    throw new MissingFieldException(t.source(), "{" + t.source() + "}: topic '" + input.topic()
                            + "' has only " + levels.size() + " levels (counted from 0)");
                }
                yield bounded(t.source(), levels.get(t.index()), input.maxFieldChars());
            }
            case TemplateField.PayloadPath p -> renderPath(p, input);
        };
    }

    private static String renderPath(TemplateField.PayloadPath path, TemplateInput input) throws TemplateRenderException {
        JsonNode node = path.resolve(input.payload());
        if (node == null || node.isNull()) {
            if (path.defaultText().isPresent()) {
                return path.defaultText().get();
            }
            if (node == null) {
                throw new MissingFieldException(path.source(), "{" + path.source() + "}: the payload has no field '"
                        + path.path() + "'");
            }
            if (path.format().numeric()) {
                throw NumberText.wrongType(path, node, -1);
            }
            return NONE;
        }
        FieldText out = new FieldText(path.source(), input.maxFieldChars(), !node.isArray());
        appendValue(out, path, node, -1);
        return out.toString();
    }


    /**
     * The README's value rules; nested objects, which it does not cover, render as compact JSON. A typed
     * format applies to each element of an array; {@code index} is the element's, for messages, or -1.
     */
    private static void appendValue(FieldText out, TemplateField.PayloadPath path, JsonNode node, int index)
            throws TemplateRenderException {
        if (node.isArray()) {
            if (node.isEmpty()) {
                out.append(NONE);
                return;
            }
            int start = out.chars(); // as before: no separator while this array's text is still empty
            int i = 0;
            for (JsonNode element : node) {
                if (out.chars() > start) {
                    out.append(", ");
                }
                appendValue(out, path, element, i++);
            }
        } else if (path.format().numeric()) {
            out.append(NumberText.format(path, node, index));
        } else if (node.isNull()) {
            out.append(NONE);
        } else if (node.isTextual()) {
            out.append(node.textValue());
        } else if (node.isNumber()) {
            out.append(NumberText.asWritten(path.source(), node));
        } else if (node.isBoolean()) {
            out.append(node.asText());
        } else {
            out.append(node.toString());
        }
    }

    /** A topic level or the device id, checked against the per-field limit. */
    private static String bounded(String field, String value, int limit) throws TemplateRenderException {
        FieldText out = new FieldText(field, limit, true);
        out.append(value);
        return out.toString();
    }

    /**
     * One placeholder's text, refused with FIELD_TOO_LONG as soon as it passes the limit, so that an
     * array of many elements is not joined in full first. Lengths are Unicode code points.
     */
    private static final class FieldText {
        private final String field;
        private final int limit;
        private final boolean single; // one value, not an array's elements: the length is exact
        private final StringBuilder text = new StringBuilder();
        private long length;

        FieldText(String field, int limit, boolean single) {
            this.field = field;
            this.limit = limit;
            this.single = single;
        }

        void append(String s) throws TemplateRenderException {
            length += s.codePointCount(0, s.length());
            if (length > limit) {
                throw new TemplateRenderException(TemplateRenderException.Kind.FIELD_TOO_LONG, field, "{" + field + "}: "
                        + (single ? "the value is " + length + " characters" : "the array renders to more than " + limit
                        + " characters") + "; the limit is " + limit + " (limits.max_field_chars)");
            }
            text.append(s);
        }

        /** The UTF-16 length so far. */
        int chars() {
            return text.length();
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }

    private static List<String> splitTopic(String topic) {
        return List.of(topic.split("/", -1));
    }

    @Override
    public String toString() {
        return source;
    }
}
