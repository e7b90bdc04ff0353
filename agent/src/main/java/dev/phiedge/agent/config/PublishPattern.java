package dev.phiedge.agent.config;

import dev.phiedge.agent.template.PromptTemplate;
import dev.phiedge.agent.template.TemplateField;
import dev.phiedge.agent.topic.TopicFilter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Every topic a route's publish template can render, as a pattern of levels, so that the loader can
 * tell before any event whether a result could come back to the agent as an event (a feedback loop).
 *
 * <p>The template is read level by level ('/' in its literal text ends a level), and each placeholder
 * is taken for the most it can render, so the pattern always covers every topic the route can publish
 * to (it may cover more; it never covers less):
 * <ul>
 *   <li>{@code {$device}} is the configured device_id: known text, never a '/' (it is checked as a topic level);</li>
 *   <li>{@code {$topic[N]}} is one level of the topic the event arrived on: the subscription's level N when
 *       that is literal text ({@code a/+/c} makes {@code {$topic[0]}} exactly {@code a}), else any text
 *       without '/';</li>
 *   <li>a payload field ({@code {a.b}}, {@code {$payload}}, and any placeholder this class does not know)
 *       renders text from the event, which may hold '/': the level that holds it can become one or
 *       more levels of any text.</li>
 * </ul>
 * A level of literal text and single-level placeholders (e.g. {@code zone-{$topic[1]}}) is matched as
 * such: its literal parts fixed, each placeholder any text without '/'.
 */
final class PublishPattern {

    /** One level of the pattern. */
    private sealed interface Level permits Glob, Span {}

    /**
     * One level: literal parts (String) and, between them, {@link #ANY} for text without '/'.
     * No {@link #ANY} at all is a level of known text.
     */
    private record Glob(List<Object> parts) implements Level {
        boolean matchesLevel(String literal) {
            return matches(parts, 0, literal, 0);
        }

        boolean certainlyStartsWithDollar() {
            return !parts.isEmpty() && parts.getFirst() instanceof String s && s.startsWith("$");
        }

        /** The level with each placeholder rendered as {@code x}: a topic level the template can produce. */
        String example() {
            StringBuilder out = new StringBuilder();
            for (Object part : parts) {
                out.append(part == ANY ? "x" : (String) part);
            }
            return out.toString();
        }

        private static boolean matches(List<Object> parts, int p, String text, int t) {
            if (p == parts.size()) {
                return t == text.length();
            }
            if (parts.get(p) == ANY) {
                for (int end = t; end <= text.length(); end++) {
                    if (matches(parts, p + 1, text, end)) {
                        return true;
                    }
                }
                return false;
            }
            String literal = (String) parts.get(p);
            return text.startsWith(literal, t) && matches(parts, p + 1, text, t + literal.length());
        }
    }

    /** One or more levels of any text: where a payload field (which may hold '/') is rendered. */
    private record Span() implements Level {}

    private static final Object ANY = new Object() {
        @Override
        public String toString() {
            return "*";
        }
    };

    private final String template;
    private final List<Level> levels;

    private PublishPattern(String template, List<Level> levels) {
        this.template = template;
        this.levels = List.copyOf(levels);
    }

    /**
     * The topics {@code publish} can render for events that arrive through {@code subscribe}.
     *
     * @param deviceId the configured device_id, which {@code {$device}} renders
     */
    static PublishPattern of(PromptTemplate publish, TopicFilter subscribe, String deviceId) {
        List<Object> pieces = pieces(publish);
        List<Level> levels = new ArrayList<>();
        List<Object> level = new ArrayList<>();
        boolean span = false;
        for (Object piece : pieces) {
            if (piece instanceof String text) {
                int start = 0;
                for (int slash = text.indexOf('/'); slash >= 0; slash = text.indexOf('/', start)) {
                    addLiteral(level, text.substring(start, slash));
                    levels.add(span ? new Span() : new Glob(List.copyOf(level)));
                    level.clear();
                    span = false;
                    start = slash + 1;
                }
                addLiteral(level, text.substring(start));
            } else {
                Optional<String> known = knownText((TemplateField) piece, subscribe, deviceId);
                if (known.isPresent()) {
                    addLiteral(level, known.get());
                } else if (singleLevel((TemplateField) piece)) {
                    level.add(ANY);
                } else {
                    span = true;
                }
            }
        }
        levels.add(span ? new Span() : new Glob(List.copyOf(level)));
        return new PublishPattern(publish.source(), levels);
    }

    /**
     * The template as literal text and fields in order. {@link PromptTemplate} gives its fields but not
     * the text between them, so the source is scanned the way it parses it: a placeholder runs from a
     * '{' to the next '}'. Should the two ever disagree, every placeholder counts as unbounded.
     */
    private static List<Object> pieces(PromptTemplate publish) {
        String source = publish.source();
        List<TemplateField> fields = publish.fields();
        List<Object> pieces = new ArrayList<>();
        int start = 0;
        int index = 0;
        for (int open = source.indexOf('{'); open >= 0; open = source.indexOf('{', start)) {
            int close = source.indexOf('}', open + 1);
            if (close < 0) {
                break;
            }
            pieces.add(source.substring(start, open));
            pieces.add(index < fields.size() ? fields.get(index) : new TemplateField.Payload(source));
            index++;
            start = close + 1;
        }
        pieces.add(source.substring(start));
        if (index != fields.size()) {
            pieces.replaceAll(p -> p instanceof TemplateField ? new TemplateField.Payload(source) : p);
        }
        return pieces;
    }

    private static void addLiteral(List<Object> level, String text) {
        if (text.isEmpty()) {
            return;
        }
        if (!level.isEmpty() && level.getLast() instanceof String previous) {
            level.set(level.size() - 1, previous + text);
        } else {
            level.add(text);
        }
    }

    /** The text a placeholder renders when the configuration alone decides it. */
    private static Optional<String> knownText(TemplateField field, TopicFilter subscribe, String deviceId) {
        if (field instanceof TemplateField.Device) {
            return Optional.of(deviceId);
        }
        if (field instanceof TemplateField.TopicLevel level && subscribe != null
                && level.index() < subscribe.levels().size()) {
            String filterLevel = subscribe.levels().get(level.index());
            if (!filterLevel.equals("+") && !filterLevel.equals("#")) {
                return Optional.of(filterLevel);
            }
        }
        return Optional.empty();
    }

    /** A placeholder that renders one topic level (never a '/'); everything else may render several. */
    private static boolean singleLevel(TemplateField field) {
        return field instanceof TemplateField.TopicLevel || field instanceof TemplateField.Device;
    }

    String template() {
        return template;
    }

    /**
     * A topic that this pattern can produce and {@code filter} matches (by its filter proper: a shared
     * subscription receives the same topics), or empty when there is none.
     */
    Optional<String> overlap(TopicFilter filter) {
        List<String> f = filter.levels();
        if ((f.getFirst().equals("+") || f.getFirst().equals("#"))
                && levels.getFirst() instanceof Glob first && first.certainlyStartsWithDollar()) {
            return Optional.empty(); // a filter that starts with a wildcard does not match '$' topics
        }
        List<String> witness = new ArrayList<>();
        return match(0, 0, f, witness, new HashSet<>()) ? Optional.of(String.join("/", witness)) : Optional.empty();
    }

    /**
     * True when pattern levels from {@code i} and filter levels from {@code j} can match the same topic;
     * {@code witness} then ends with its levels.
     */
    private boolean match(int i, int j, List<String> filter, List<String> witness, Set<Long> failed) {
        long key = ((long) i << 32) | j;
        if (failed.contains(key)) {
            return false;
        }
        int mark = witness.size();
        if (j < filter.size() && filter.get(j).equals("#")) {
            // '#' matches whatever levels remain, none included ("a/#" matches "a")
            for (int k = i; k < levels.size(); k++) {
                witness.add(levels.get(k) instanceof Glob g ? g.example() : "x");
            }
            return true;
        }
        if (i == levels.size() || j == filter.size()) {
            if (i == levels.size() && j == filter.size()) {
                return true;
            }
            failed.add(key);
            return false;
        }
        Level level = levels.get(i);
        String want = filter.get(j);
        if (level instanceof Glob glob) {
            if (want.equals("+") || glob.matchesLevel(want)) {
                witness.add(want.equals("+") ? glob.example() : want);
                if (match(i + 1, j + 1, filter, witness, failed)) {
                    return true;
                }
                witness.subList(mark, witness.size()).clear();
            }
        } else {
            // A span takes one or more levels; any text can be each of them (a '#' ends the search above).
            for (int end = j + 1; end <= filter.size(); end++) {
                String taken = filter.get(end - 1);
                if (taken.equals("#")) {
                    break;
                }
                witness.add(taken.equals("+") ? "x" : taken);
                if (match(i + 1, end, filter, witness, failed)) {
                    return true;
                }
            }
            witness.subList(mark, witness.size()).clear();
        }
        failed.add(key);
        return false;
    }
}
