package dev.phiedge.agent.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.phiedge.agent.template.PromptTemplate;
import dev.phiedge.agent.template.RouteCondition;
import dev.phiedge.agent.topic.TopicFilter;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One route: which events it takes, what it asks the model, where the answer goes.
 *
 * @param labels             the answer set for {@link Task#CLASSIFY}; empty for summarize
 * @param maxTokens          the generation cap for {@link Task#SUMMARIZE}
 * @param system             the system turn; fixed text (not a template) so its KV prefix can be reused
 * @param when               the route's {@code when:} conditions on the payload; empty: every event matching
 *                           {@code subscribe} is taken
 * @param frigateDescription {@code frigate_description: true} (summarize routes, with a {@code frigate:}
 *                           section): the summary is also written back to Frigate as the description of the
 *                           event whose id is the payload's {@code after.id}
 */
public record RouteConfig(String name, TopicFilter subscribe, Task task, List<String> labels, int maxTokens,
                          String system, PromptTemplate prompt, PromptTemplate publish, int qos, boolean retain,
                          QueueConfig queue, Optional<RouteCondition> when, boolean frigateDescription) {

    public static final int DEFAULT_MAX_TOKENS = 64;

    public RouteConfig {
        labels = List.copyOf(labels);
        Objects.requireNonNull(when, "when");
    }

    /** A route without conditions and without Frigate write-back. */
    public RouteConfig(String name, TopicFilter subscribe, Task task, List<String> labels, int maxTokens,
                       String system, PromptTemplate prompt, PromptTemplate publish, int qos, boolean retain,
                       QueueConfig queue) {
        this(name, subscribe, task, labels, maxTokens, system, prompt, publish, qos, retain, queue, Optional.empty(),
                false);
    }

    /**
     * Whether the route takes an event with this payload: true without {@code when:}, else when every
     * condition holds. An event a route does not take is filtered, not an error.
     */
    public boolean accepts(JsonNode payload) {
        return when.isEmpty() || when.get().test(payload);
    }
}
