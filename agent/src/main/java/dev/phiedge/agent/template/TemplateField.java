package dev.phiedge.agent.template;

import java.util.List;

/**
 * One {@code {...}} placeholder of a template, parsed. The set of variables is closed on purpose: a
 * misspelt {@code {$devce}} is a configuration error, never an empty string in a prompt.
 */
public sealed interface TemplateField {

    /** The placeholder as written between the braces, for messages. */
    String source();

    /** {@code {a.b.c}}: a path into the JSON payload; a numeric segment also indexes an array. */
    record PayloadPath(String source, List<String> segments) implements TemplateField {
        public PayloadPath {
            segments = List.copyOf(segments);
        }
    }

    /** {@code {$topic[N]}}: level N of the topic the event arrived on, counted from 0. */
    record TopicLevel(String source, int index) implements TemplateField {}

    /** {@code {$device}}: the configured device_id. */
    record Device(String source) implements TemplateField {}

    /** {@code {$payload}}: the whole payload text, as received. */
    record Payload(String source) implements TemplateField {}

    /** Parses the text between braces; throws with a message naming what is wrong. */
    static TemplateField parse(String source) throws TemplateSyntaxException {
        String s = source.strip();
        if (s.isEmpty()) {
            throw new TemplateSyntaxException("empty placeholder {}");
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
        return new PayloadPath(source, List.of(parts));
    }
}
