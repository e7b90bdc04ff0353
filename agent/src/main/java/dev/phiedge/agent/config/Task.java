package dev.phiedge.agent.config;

/** What a route asks of the model. */
public enum Task {
    /** Score each label as the whole reply; the answer is always one of the labels. */
    CLASSIFY,
    /** Generate greedily until the end token or max_tokens. */
    SUMMARIZE;

    /** The name used in the configuration file and in result JSON. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
