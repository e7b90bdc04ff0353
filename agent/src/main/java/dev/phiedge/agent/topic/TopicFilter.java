package dev.phiedge.agent.topic;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An MQTT topic filter as a route subscribes to it, checked against the MQTT 5 rules (section 4.7 and
 * 4.8.2 for shared subscriptions). Parsing happens once, at configuration time, so that a bad filter is
 * reported with its file and line instead of being refused by the broker at run time.
 *
 * @param text        the filter exactly as written, possibly with a {@code $share/GROUP/} prefix
 * @param shareGroup  the shared-subscription group, or null
 * @param levels      the levels of the filter proper (after the share prefix)
 */
public record TopicFilter(String text, String shareGroup, List<String> levels) {

    private static final String SHARE_PREFIX = "$share/";

    public TopicFilter {
        levels = List.copyOf(levels);
    }

    /** Parses a filter, or says in words what is wrong with it. */
    public static Parsed parse(String text) {
        if (text == null || text.isEmpty()) {
            return Parsed.error("a topic filter must not be empty");
        }
        if (text.getBytes(StandardCharsets.UTF_8).length > 65535) {
            return Parsed.error("a topic filter must be at most 65535 bytes");
        }
        if (text.indexOf('\0') >= 0) {
            return Parsed.error("a topic filter must not contain the null character");
        }
        String group = null;
        String filter = text;
        if (text.startsWith(SHARE_PREFIX)) {
            int slash = text.indexOf('/', SHARE_PREFIX.length());
            if (slash < 0) {
                return Parsed.error("a shared subscription is $share/GROUP/FILTER; '" + text + "' has no filter");
            }
            group = text.substring(SHARE_PREFIX.length(), slash);
            filter = text.substring(slash + 1);
            if (group.isEmpty() || group.contains("+") || group.contains("#")) {
                return Parsed.error("the share group in '" + text + "' must be non-empty and contain no '+' or '#'");
            }
            if (filter.isEmpty()) {
                return Parsed.error("a shared subscription is $share/GROUP/FILTER; '" + text + "' has no filter");
            }
        }
        List<String> levels = splitLevels(filter);
        for (int i = 0; i < levels.size(); i++) {
            String level = levels.get(i);
            if (level.contains("#") && (!level.equals("#") || i != levels.size() - 1)) {
                return Parsed.error("'#' must be a whole level and the last one, in '" + text + "'");
            }
            if (level.contains("+") && !level.equals("+")) {
                return Parsed.error("'+' must be a whole level, in '" + text + "'");
            }
        }
        return new Parsed(Optional.of(new TopicFilter(text, group, levels)), null);
    }

    /** Parses a filter that is known to be valid (tests, internal filters). */
    public static TopicFilter of(String text) {
        Parsed parsed = parse(text);
        return parsed.filter().orElseThrow(() -> new IllegalArgumentException(parsed.error()));
    }

    /** Checks a topic name that the agent publishes to: no wildcards, not empty. Null when valid. */
    public static String topicNameProblem(String topic) {
        if (topic == null || topic.isEmpty()) {
            return "a topic name must not be empty";
        }
        if (topic.contains("+") || topic.contains("#")) {
            return "a topic name must not contain the wildcards '+' or '#': '" + topic + "'";
        }
        if (topic.indexOf('\0') >= 0) {
            return "a topic name must not contain the null character";
        }
        if (topic.getBytes(StandardCharsets.UTF_8).length > 65535) {
            return "a topic name must be at most 65535 bytes";
        }
        return null;
    }

    /** Levels split on '/', keeping empty levels (they are legal and significant in MQTT). */
    public static List<String> splitLevels(String topic) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= topic.length(); i++) {
            if (i == topic.length() || topic.charAt(i) == '/') {
                out.add(topic.substring(start, i));
                start = i + 1;
            }
        }
        return out;
    }

    public boolean isShared() {
        return shareGroup != null;
    }

    /** The filter without its share prefix: what topics are matched against. */
    public String filterProper() {
        return String.join("/", levels);
    }

    /** True when the filter ends in '#', so topics it matches can have any number of further levels. */
    public boolean isOpenEnded() {
        return levels.getLast().equals("#");
    }

    /**
     * True when a topic matched by this filter always has a level at this index. With a trailing '#'
     * ("a/#" also matches "a") only the levels before the '#' are certain.
     */
    public boolean levelAlwaysExists(int index) {
        return index >= 0 && index < (isOpenEnded() ? levels.size() - 1 : levels.size());
    }

    /** True when some topic matched by this filter can have a level at this index. */
    public boolean levelCanExist(int index) {
        return index >= 0 && (isOpenEnded() || index < levels.size());
    }

    /** MQTT matching, including the rule that wildcards at the first level do not match '$' topics. */
    public boolean matches(String topic) {
        List<String> topicLevels = splitLevels(topic);
        if (topic.startsWith("$") && (levels.getFirst().equals("+") || levels.getFirst().equals("#"))) {
            return false;
        }
        for (int i = 0; i < levels.size(); i++) {
            String level = levels.get(i);
            if (level.equals("#")) {
                return true;
            }
            if (i >= topicLevels.size()) {
                return false;
            }
            if (!level.equals("+") && !level.equals(topicLevels.get(i))) {
                return false;
            }
        }
        return topicLevels.size() == levels.size();
    }

    /** The outcome of {@link #parse}: a filter, or the reason there is none. */
    public record Parsed(Optional<TopicFilter> filter, String error) {
        static Parsed error(String message) {
            return new Parsed(Optional.empty(), message);
        }
    }
}
