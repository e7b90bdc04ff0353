package dev.phiedge.runtime.cli;

import java.util.List;
import java.util.Map;

/** Writes JSON text (RFC 8259) from maps, lists, strings, numbers, booleans and arrays. */
final class JsonWriter {
    private JsonWriter() { }

    static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        append(sb, value);
        return sb.toString();
    }

    private static void append(StringBuilder sb, Object value) {
        switch (value) {
            case null -> sb.append("null");
            case String s -> string(sb, s);
            case Boolean b -> sb.append(b);
            case Float f -> number(sb, f.doubleValue(), true);
            case Double d -> number(sb, d, false);
            case Number n -> sb.append(n);
            case int[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) sb.append(i == 0 ? "" : ",").append(a[i]);
                sb.append(']');
            }
            case float[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) { if (i > 0) sb.append(','); number(sb, a[i], true); }
                sb.append(']');
            }
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) sb.append(',');
                    first = false;
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(':');
                    append(sb, e.getValue());
                }
                sb.append('}');
            }
            case List<?> l -> {
                sb.append('[');
                for (int i = 0; i < l.size(); i++) { if (i > 0) sb.append(','); append(sb, l.get(i)); }
                sb.append(']');
            }
            case Object[] a -> append(sb, List.of(a));
            default -> string(sb, value.toString());
        }
    }

    /** Floats print in their shortest float form (41.5, not 41.49999); non-finite values become null. */
    private static void number(StringBuilder sb, double v, boolean isFloat) {
        if (Double.isNaN(v) || Double.isInfinite(v)) { sb.append("null"); return; }
        sb.append(isFloat ? Float.toString((float) v) : Double.toString(v));
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
