package dev.phiedge.agent.template;

/**
 * How a payload placeholder renders its value: the text after ':' in {@code {a.b:format}}.
 * <ul>
 *   <li>none ({@code {x}}): any value, numbers as the payload wrote them (the demo model's rule);</li>
 *   <li>{@code number}: a JSON number, rendered as written, exactly like {@code {x}};</li>
 *   <li>{@code int}: a JSON number with no fraction (72, 72.0, 7.2e1), rendered without one ({@code 72});</li>
 *   <li>{@code %.Nf}, N from 0 to 6: a JSON number with N decimals, rounded half up (away from zero on a
 *       tie), no exponent, {@code .} as the separator whatever the locale;</li>
 *   <li>{@code percent}: a JSON number taken as a fraction (0..1) and rendered as a whole percentage,
 *       {@code value * 100} rounded half up, then {@code %}: 0.77546 renders {@code 78%}.</li>
 * </ul>
 * A typed format refuses anything but a number (a string, even {@code "65"}, a boolean, an object, null
 * without a default) with {@link TemplateRenderException.Kind#WRONG_TYPE}; on an array it applies to
 * every element.
 *
 * @param type     which format
 * @param decimals N of {@code %.Nf}; 0 for the others
 */
public record FieldFormat(Type type, int decimals) {

    /** The formats; AS_WRITTEN is the untyped {@code {x}}. */
    public enum Type { AS_WRITTEN, NUMBER, INT, FIXED, PERCENT }

    /** The most decimals {@code %.Nf} accepts. */
    public static final int MAX_DECIMALS = 6;

    /** {@code {x}}: no format. */
    public static final FieldFormat AS_WRITTEN = new FieldFormat(Type.AS_WRITTEN, 0);

    /** For syntax-error messages. */
    static final String ACCEPTED = "number, int, percent, and %.Nf with N from 0 to " + MAX_DECIMALS + " (e.g. %.2f)";

    public FieldFormat {
        if (type == null) {
            throw new IllegalArgumentException("type is null");
        }
        if (type == Type.FIXED ? decimals < 0 || decimals > MAX_DECIMALS : decimals != 0) {
            throw new IllegalArgumentException("decimals " + decimals + " for " + type);
        }
    }

    /** Whether the value must be a JSON number (every format but the untyped one). */
    public boolean numeric() {
        return type != Type.AS_WRITTEN;
    }

    /** The format's text after ':', e.g. {@code %.2f}; empty for the untyped one. */
    @Override
    public String toString() {
        return switch (type) {
            case AS_WRITTEN -> "";
            case NUMBER -> "number";
            case INT -> "int";
            case FIXED -> "%." + decimals + "f";
            case PERCENT -> "percent";
        };
    }

    /** Parses the text after ':' in {@code placeholder}; an unknown format names the accepted ones. */
    static FieldFormat parse(String placeholder, String text) throws TemplateSyntaxException {
        switch (text) {
            case "number":
                return new FieldFormat(Type.NUMBER, 0);
            case "int":
                return new FieldFormat(Type.INT, 0);
            case "percent":
                return new FieldFormat(Type.PERCENT, 0);
            default:
                if (text.length() == 4 && text.startsWith("%.") && text.endsWith("f")
                        && text.charAt(2) >= '0' && text.charAt(2) <= '0' + MAX_DECIMALS) {
                    return new FieldFormat(Type.FIXED, text.charAt(2) - '0');
                }
                throw new TemplateSyntaxException("{" + placeholder + "}: unknown format '" + text
                        + "'; the formats are " + ACCEPTED);
        }
    }
}
