package dev.phiedge.runtime.testutil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON reader for tests (RFC 8259), so the runtime needs no JSON library.
 *
 * <p>Values map to: object → {@code Map<String, Object>} (insertion ordered), array →
 * {@code List<Object>}, string → {@code String}, number → {@code Long} when written without fraction or
 * exponent and it fits, else {@code Double}, {@code true/false} → {@code Boolean}, {@code null} → null.
 * The helpers ({@link #obj}, {@link #list}, {@link #ints}, ...) cast with a clear message.
 */
public final class Json {
    private final String s;
    private int pos;

    private Json(String s) { this.s = s; }

    /** Parses one JSON value (surrounding whitespace allowed). */
    public static Object parse(String text) {
        Json p = new Json(text);
        p.ws();
        Object v = p.value();
        p.ws();
        if (p.pos != text.length()) throw p.error("trailing characters");
        return v;
    }

    public static Object parse(Path file) throws IOException {
        return parse(Files.readString(file, StandardCharsets.UTF_8));
    }

    /** JSON Lines: one value per non-blank line. */
    public static List<Object> parseLines(Path file) throws IOException {
        List<Object> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) out.add(parse(line));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> obj(Object v) {
        if (v instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IllegalArgumentException("expected a JSON object, got " + describe(v));
    }

    @SuppressWarnings("unchecked")
    public static List<Object> list(Object v) {
        if (v instanceof List<?> l) return (List<Object>) l;
        throw new IllegalArgumentException("expected a JSON array, got " + describe(v));
    }

    public static String str(Object v) {
        if (v instanceof String s) return s;
        throw new IllegalArgumentException("expected a JSON string, got " + describe(v));
    }

    public static long lng(Object v) {
        if (v instanceof Long l) return l;
        throw new IllegalArgumentException("expected a JSON integer, got " + describe(v));
    }

    public static double dbl(Object v) {
        if (v instanceof Number n) return n.doubleValue();
        throw new IllegalArgumentException("expected a JSON number, got " + describe(v));
    }

    /** An array of integers as int[]. */
    public static int[] ints(Object v) {
        List<Object> l = list(v);
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = Math.toIntExact(lng(l.get(i)));
        return out;
    }

    /** An array of numbers as float[]. */
    public static float[] floats(Object v) {
        List<Object> l = list(v);
        float[] out = new float[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) dbl(l.get(i));
        return out;
    }

    /** Follows object keys and array indices (given as Integer): {@code at(root, "files", 0, "file")}. */
    public static Object at(Object root, Object... path) {
        Object v = root;
        for (Object k : path) {
            v = k instanceof Integer i ? list(v).get(i) : obj(v).get((String) k);
        }
        return v;
    }

    private static String describe(Object v) {
        return v == null ? "null" : v.getClass().getSimpleName() + " " + String.valueOf(v).lines().findFirst().orElse("");
    }

    private Object value() {
        if (pos >= s.length()) throw error("unexpected end");
        char c = s.charAt(pos);
        return switch (c) {
            case '{' -> object();
            case '[' -> array();
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw error("unexpected character '" + c + "'");
            }
        };
    }

    private Map<String, Object> object() {
        Map<String, Object> m = new LinkedHashMap<>();
        pos++;
        ws();
        if (peek('}')) { pos++; return m; }
        while (true) {
            ws();
            if (!peek('"')) throw error("expected a key");
            String key = string();
            ws();
            expect(':');
            ws();
            m.put(key, value());
            ws();
            if (peek(',')) { pos++; continue; }
            expect('}');
            return m;
        }
    }

    private List<Object> array() {
        List<Object> l = new ArrayList<>();
        pos++;
        ws();
        if (peek(']')) { pos++; return l; }
        while (true) {
            ws();
            l.add(value());
            ws();
            if (peek(',')) { pos++; continue; }
            expect(']');
            return l;
        }
    }

    private String string() {
        pos++; // opening quote
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= s.length()) throw error("unterminated string");
            char c = s.charAt(pos++);
            if (c == '"') return sb.toString();
            if (c < 0x20) throw error("control character in string");
            if (c != '\\') { sb.append(c); continue; }
            if (pos >= s.length()) throw error("unterminated escape");
            char e = s.charAt(pos++);
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (pos + 4 > s.length()) throw error("short \\u escape");
                    try {
                        sb.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                    } catch (NumberFormatException ex) {
                        throw error("bad \\u escape");
                    }
                    pos += 4;
                }
                default -> throw error("bad escape '\\" + e + "'");
            }
        }
    }

    private Object number() {
        int start = pos;
        if (peek('-')) pos++;
        digits();
        boolean integral = true;
        if (peek('.')) { pos++; digits(); integral = false; }
        if (peek('e') || peek('E')) {
            pos++;
            if (peek('+') || peek('-')) pos++;
            digits();
            integral = false;
        }
        String t = s.substring(start, pos);
        if (integral) {
            try {
                return Long.parseLong(t);
            } catch (NumberFormatException tooBig) {
                return Double.parseDouble(t);
            }
        }
        return Double.parseDouble(t);
    }

    private void digits() {
        int start = pos;
        while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') pos++;
        if (pos == start) throw error("expected a digit");
    }

    private Object literal(String word, Object v) {
        if (!s.startsWith(word, pos)) throw error("expected " + word);
        pos += word.length();
        return v;
    }

    private boolean peek(char c) { return pos < s.length() && s.charAt(pos) == c; }

    private void expect(char c) {
        if (!peek(c)) throw error("expected '" + c + "'");
        pos++;
    }

    private void ws() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            pos++;
        }
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("JSON: " + what + " at offset " + pos);
    }
}
