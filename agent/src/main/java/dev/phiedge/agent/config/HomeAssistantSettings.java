package dev.phiedge.agent.config;

/**
 * The configuration's {@code homeassistant: {discovery: true, prefix: homeassistant}}.
 *
 * @param discovery publish Home Assistant MQTT discovery messages; off unless the configuration turns it on
 * @param prefix    Home Assistant's discovery prefix ({@value #DEFAULT_PREFIX} unless changed in its MQTT
 *                  options); its birth message comes on {@code <prefix>/status}
 */
public record HomeAssistantSettings(boolean discovery, String prefix) {

    public static final String DEFAULT_PREFIX = "homeassistant";

    public HomeAssistantSettings {
        String problem = prefixProblem(prefix);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** No discovery (the default when the configuration has no {@code homeassistant} section). */
    public static HomeAssistantSettings disabled() {
        return new HomeAssistantSettings(false, DEFAULT_PREFIX);
    }

    /**
     * The settings as the configuration gives them: {@code prefix} null when the key is absent.
     *
     * @throws IllegalArgumentException the prefix cannot be a topic prefix; the message says why
     */
    public static HomeAssistantSettings of(boolean discovery, String prefix) {
        return new HomeAssistantSettings(discovery, prefix == null ? DEFAULT_PREFIX : prefix.strip());
    }

    /**
     * What is wrong with {@code prefix} as a discovery prefix, or null when it is fine: it is the first
     * level(s) of topics the agent publishes, so it must be non-empty, without wildcards, without empty
     * levels, and not a {@code $} topic.
     */
    public static String prefixProblem(String prefix) {
        if (prefix == null || prefix.isBlank()) {
            return "the Home Assistant discovery prefix must not be empty (Home Assistant's default is "
                    + DEFAULT_PREFIX + ")";
        }
        if (prefix.contains("+") || prefix.contains("#")) {
            return "the Home Assistant discovery prefix '" + prefix + "' must not contain the wildcards '+' or '#'";
        }
        if (prefix.indexOf('\0') >= 0) {
            return "the Home Assistant discovery prefix must not contain the null character";
        }
        if (prefix.startsWith("/") || prefix.endsWith("/") || prefix.contains("//")) {
            return "the Home Assistant discovery prefix '" + prefix + "' must not start or end with '/' or have empty levels";
        }
        if (prefix.startsWith("$")) {
            return "the Home Assistant discovery prefix '" + prefix + "' must not start with '$' (broker topics)";
        }
        return null;
    }

    /** {@code <prefix>/status}, where Home Assistant publishes {@code online} when it (re)starts. */
    public String statusTopic() {
        return prefix + "/status";
    }
}
