package dev.phiedge.agent.template;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A route's {@code when:} conditions: which events, by their payload, the route takes. Each entry maps a
 * payload path (as in templates: dotted keys, a numeric segment also indexes an array, e.g.
 * {@code after.camera}, {@code after.current_zones.0}) to what its value must be; every entry must hold.
 * <ul>
 *   <li>a plain scalar ({@code type: end}, {@code after.has_clip: true}, {@code count: 3}) holds when the
 *       value equals it; on an array field, when the array contains it;</li>
 *   <li>a list ({@code after.label: [person, car]}) holds when the value equals one of the items; on an
 *       array field ({@code after.entered_zones: [porch, driveway]}), when the array contains one of them.
 *       Items are literal values, never operators;</li>
 *   <li>a string starting with a comparison operator compares: {@code ">= 0.7"}, {@code "> 3"},
 *       {@code "< 10"}, {@code "<= 1"} need a number after the operator and hold only for a JSON number
 *       (compared exactly, as decimals: 0.6 is 0.60 and never 0.59999); {@code "== person"} is the plain
 *       {@code person}, {@code "!= person"} its negation (on an array: contains no such element);
 *       {@code "!= null"} holds when the field is present and not null, {@code "== null"} when it is missing
 *       or null.</li>
 * </ul>
 * Equality: a JSON text equals an item written with the same characters (case matters); a JSON number
 * equals an item that reads as a number of the same value (3 equals 3.0 and "3"); a JSON boolean equals
 * {@code true} or {@code false}. Whether YAML quoted an item makes no difference. Objects equal nothing.
 * <p>
 * A field that is missing or null has no value: every condition fails on it except {@code == null}
 * (so {@code "!= person"} does not hold for a missing label).
 */
public final class RouteCondition {

    /** What a clause checks. */
    public enum Operator {
        /** The value (or, for an array, one of its elements) equals one of the items. */
        EQUALS_ANY("=="),
        /** The value is present and equals none of the items (for an array: no element does). */
        NOT_EQUALS("!="),
        GREATER(">"),
        GREATER_OR_EQUAL(">="),
        LESS("<"),
        LESS_OR_EQUAL("<="),
        /** Missing or null. */
        IS_NULL("== null"),
        /** Present and not null. */
        NOT_NULL("!= null");

        private final String symbol;

        Operator(String symbol) {
            this.symbol = symbol;
        }

        public String symbol() {
            return symbol;
        }
    }

    /**
     * One literal of a condition.
     *
     * @param text    the literal as written, for text equality
     * @param number  its value when it is a number, else null
     * @param bool    its value when it is a boolean, else null
     */
    public record Literal(String text, BigDecimal number, Boolean bool) {
        public Literal {
            Objects.requireNonNull(text, "text");
        }

        /**
         * A literal written as text: also a number when it reads as a decimal number ({@code "3"},
         * {@code "0.60"}), also a boolean when it is {@code true} or {@code false}; whether YAML quoted it
         * or not makes no difference.
         */
        static Literal of(String text) {
            if (NUMBER.matcher(text).matches()) {
                try {
                    return new Literal(text, new BigDecimal(text), null);
                } catch (NumberFormatException | ArithmeticException e) {
                    return new Literal(text, null, null); // an exponent beyond BigDecimal: text only
                }
            }
            return switch (text) {
                case "true", "false" -> new Literal(text, null, Boolean.parseBoolean(text));
                default -> new Literal(text, null, null);
            };
        }

        /** Whether a JSON value that is not an array, not null and present equals this literal. */
        boolean matches(JsonNode node) {
            if (node.isTextual()) {
                return node.textValue().equals(text);
            }
            if (node.isNumber()) {
                return number != null && finite(node) && node.decimalValue().compareTo(number) == 0;
            }
            if (node.isBoolean()) {
                return bool != null && node.booleanValue() == bool;
            }
            return false;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /**
     * One entry of {@code when:}.
     *
     * @param path     the payload path as written, e.g. {@code after.top_score}
     * @param segments its keys
     * @param operator what is checked
     * @param items    the literals: one or more for EQUALS_ANY and NOT_EQUALS, one number for the orderings,
     *                 none for IS_NULL and NOT_NULL
     */
    public record Clause(String path, List<String> segments, Operator operator, List<Literal> items) {
        public Clause {
            segments = List.copyOf(segments);
            items = List.copyOf(items);
        }

        /** Whether this clause holds for the payload. */
        public boolean test(JsonNode payload) {
            JsonNode value = TemplateField.PayloadPath.resolve(segments, payload);
            boolean absent = value == null || value.isNull();
            return switch (operator) {
                case IS_NULL -> absent;
                case NOT_NULL -> !absent;
                case EQUALS_ANY -> !absent && equalsAny(value);
                case NOT_EQUALS -> !absent && !equalsAny(value);
                case GREATER, GREATER_OR_EQUAL, LESS, LESS_OR_EQUAL -> !absent && value.isNumber() && compares(value);
            };
        }

        private boolean equalsAny(JsonNode value) {
            if (value.isArray()) {
                for (JsonNode element : value) {
                    if (!element.isNull() && !element.isArray() && matchesItem(element)) {
                        return true;
                    }
                }
                return false;
            }
            return matchesItem(value);
        }

        private boolean matchesItem(JsonNode value) {
            for (Literal item : items) {
                if (item.matches(value)) {
                    return true;
                }
            }
            return false;
        }

        private boolean compares(JsonNode value) {
            if (!finite(value)) {
                return false;
            }
            int c = value.decimalValue().compareTo(items.getFirst().number());
            return switch (operator) {
                case GREATER -> c > 0;
                case GREATER_OR_EQUAL -> c >= 0;
                case LESS -> c < 0;
                case LESS_OR_EQUAL -> c <= 0;
                default -> throw new IllegalStateException(operator.name());
            };
        }

        @Override
        public String toString() {
            return switch (operator) {
                case IS_NULL, NOT_NULL -> path + " " + operator.symbol();
                case EQUALS_ANY -> path + (items.size() == 1 ? " == " + items.getFirst() : " in " + items);
                case NOT_EQUALS -> path + (items.size() == 1 ? " != " + items.getFirst() : " not in " + items);
                default -> path + " " + operator.symbol() + " " + items.getFirst();
            };
        }
    }

    /** False for NaN and infinities, which only a parser other than PayloadReader can make. */
    private static boolean finite(JsonNode number) {
        return !number.isFloatingPointNumber() || number.isBigDecimal() || Double.isFinite(number.doubleValue());
    }

    /** A decimal number as written in a condition: optional sign, digits, optional fraction and exponent. */
    private static final Pattern NUMBER = Pattern.compile("[-+]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?");

    private static final RouteCondition ALWAYS = new RouteCondition(List.of());

    private final List<Clause> clauses;

    private RouteCondition(List<Clause> clauses) {
        this.clauses = List.copyOf(clauses);
    }

    /** The condition of a route without {@code when:}: every event holds. */
    public static RouteCondition always() {
        return ALWAYS;
    }

    /** All of these clauses. */
    public static RouteCondition of(List<Clause> clauses) {
        return clauses.isEmpty() ? ALWAYS : new RouteCondition(clauses);
    }

    /**
     * Parses a whole {@code when:} mapping, in its order, stopping at the first mistake (the configuration
     * loader uses {@link #clause} to report every entry's mistake with its own line).
     */
    public static RouteCondition parse(Map<String, ?> when) throws TemplateSyntaxException {
        List<Clause> clauses = new ArrayList<>();
        for (Map.Entry<String, ?> entry : when.entrySet()) {
            clauses.add(clause(entry.getKey(), entry.getValue()));
        }
        return of(clauses);
    }

    /**
     * Parses one entry: {@code path} is a payload path, {@code value} what YAML made of the condition: a
     * {@link String}, a {@link Number} (Integer, Long, BigInteger, BigDecimal, a finite Double or Float), a
     * {@link Boolean}, or a non-empty {@link List} of those. Null is refused: write {@code "== null"}.
     *
     * @throws TemplateSyntaxException with a message that names what is wrong and the accepted forms
     */
    public static Clause clause(String path, Object value) throws TemplateSyntaxException {
        List<String> segments = segments(path);
        if (value instanceof List<?> list) {
            if (list.isEmpty()) {
                throw new TemplateSyntaxException("an empty list matches nothing; list one or more values");
            }
            List<Literal> items = new ArrayList<>(list.size());
            for (int i = 0; i < list.size(); i++) {
                Object item = list.get(i);
                if (item instanceof List<?> || item instanceof Map<?, ?>) {
                    throw new TemplateSyntaxException("item " + i + " of the list: expected a text, number or boolean, "
                            + "got a " + (item instanceof List<?> ? "list" : "mapping"));
                }
                if (item == null) {
                    throw new TemplateSyntaxException("item " + i + " of the list is empty (null); to test for a missing "
                            + "or null field write \"== null\" instead of a list");
                }
                items.add(literal(item));
            }
            return new Clause(path, segments, Operator.EQUALS_ANY, items);
        }
        if (value == null) {
            throw new TemplateSyntaxException("no value; write a value, a list of values, or a comparison such as "
                    + "\">= 0.7\", \"== null\" or \"!= null\"");
        }
        if (value instanceof Map<?, ?>) {
            throw new TemplateSyntaxException("expected a value, a list of values, or a comparison such as \">= 0.7\", "
                    + "got a mapping (write nested fields as one dotted path, e.g. after.camera)");
        }
        if (value instanceof String text) {
            String stripped = text.strip();
            for (String symbol : new String[] {">=", "<=", "==", "!=", ">", "<"}) {
                if (stripped.startsWith(symbol)) {
                    return comparison(path, segments, symbol, stripped.substring(symbol.length()).strip());
                }
            }
        }
        return new Clause(path, segments, Operator.EQUALS_ANY, List.of(literal(value)));
    }

    private static Clause comparison(String path, List<String> segments, String symbol, String operand)
            throws TemplateSyntaxException {
        if (operand.isEmpty()) {
            String example = symbol.equals("==") || symbol.equals("!=") ? "null" : "0.7";
            throw new TemplateSyntaxException("nothing after '" + symbol + "'; e.g. \"" + symbol + " " + example + "\"");
        }
        boolean equality = symbol.equals("==") || symbol.equals("!=");
        if (equality) {
            if (operand.equals("null")) {
                return new Clause(path, segments, symbol.equals("==") ? Operator.IS_NULL : Operator.NOT_NULL, List.of());
            }
            Literal item = Literal.of(operand);
            return new Clause(path, segments, symbol.equals("==") ? Operator.EQUALS_ANY : Operator.NOT_EQUALS,
                    List.of(item));
        }
        if (!NUMBER.matcher(operand).matches()) {
            throw new TemplateSyntaxException("'" + symbol + "' compares numbers: expected a number after it, got '"
                    + operand + "' (e.g. \"" + symbol + " 0.7\")");
        }
        Operator operator = switch (symbol) {
            case ">" -> Operator.GREATER;
            case ">=" -> Operator.GREATER_OR_EQUAL;
            case "<" -> Operator.LESS;
            default -> Operator.LESS_OR_EQUAL;
        };
        return new Clause(path, segments, operator, List.of(numberLiteral(operand)));
    }

    private static Literal numberLiteral(String text) throws TemplateSyntaxException {
        try {
            return new Literal(text, new BigDecimal(text), null);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new TemplateSyntaxException("'" + text + "' is not a usable number");
        }
    }

    private static Literal literal(Object value) throws TemplateSyntaxException {
        return switch (value) {
            case String s -> Literal.of(s);
            case Boolean b -> new Literal(b.toString(), null, b);
            case BigDecimal d -> new Literal(d.toPlainString(), d, null);
            case BigInteger i -> new Literal(i.toString(), new BigDecimal(i), null);
            case Integer i -> new Literal(i.toString(), BigDecimal.valueOf(i), null);
            case Long l -> new Literal(l.toString(), BigDecimal.valueOf(l), null);
            case Short s -> new Literal(s.toString(), BigDecimal.valueOf(s), null);
            case Byte b -> new Literal(b.toString(), BigDecimal.valueOf(b), null);
            case Double d when Double.isFinite(d) -> new Literal(d.toString(), new BigDecimal(d.toString()), null);
            case Float f when Float.isFinite(f) -> new Literal(f.toString(), new BigDecimal(f.toString()), null);
            default -> throw new TemplateSyntaxException("expected a text, number or boolean, got '" + value + "'");
        };
    }

    /** The keys of a payload path; braces around it are allowed, as in {@code coalesce_key}. */
    private static List<String> segments(String path) throws TemplateSyntaxException {
        String p = path.strip();
        if (p.startsWith("{") && p.endsWith("}")) {
            p = p.substring(1, p.length() - 1).strip();
        }
        if (p.isEmpty()) {
            throw new TemplateSyntaxException("an empty payload path");
        }
        if (p.startsWith("$")) {
            throw new TemplateSyntaxException("'" + path + "': conditions test payload fields only, not "
                    + "{$topic[N]}, {$device} or {$payload} (use the route's subscribe filter for topics)");
        }
        String[] parts = p.split("\\.", -1);
        for (String part : parts) {
            if (part.isEmpty()) {
                throw new TemplateSyntaxException("'" + path + "': a payload path is keys separated by single dots");
            }
            if (part.contains("{") || part.contains("}")) {
                throw new TemplateSyntaxException("'" + path + "': braces cannot be nested");
            }
        }
        return List.of(parts);
    }


    /** The clauses, in the order written; empty for {@link #always()}. */
    public List<Clause> clauses() {
        return clauses;
    }

    /** Whether every clause holds for the payload (true when there are none). */
    public boolean test(JsonNode payload) {
        for (Clause clause : clauses) {
            if (!clause.test(payload)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The first clause that does not hold, for a debug log line; empty when all hold. The payload's values
     * are not included: they may be private.
     */
    public java.util.Optional<Clause> firstFailing(JsonNode payload) {
        for (Clause clause : clauses) {
            if (!clause.test(payload)) {
                return java.util.Optional.of(clause);
            }
        }
        return java.util.Optional.empty();
    }

    @Override
    public String toString() {
        return clauses.isEmpty() ? "always" : String.join(" and ", clauses.stream().map(Clause::toString).toList());
    }
}
