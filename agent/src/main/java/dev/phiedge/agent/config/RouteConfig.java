package dev.phiedge.agent.config;

import dev.phiedge.agent.mqtt.TopicFilter;
import dev.phiedge.agent.template.PromptTemplate;
import java.util.List;

/**
 * One route: which events it takes, what it asks the model, where the answer goes.
 *
 * @param labels    the answer set for {@link Task#CLASSIFY}; empty for summarize
 * @param maxTokens the generation cap for {@link Task#SUMMARIZE}
 * @param system    the system turn; fixed text (not a template) so its KV prefix can be reused
 */
public record RouteConfig(String name, TopicFilter subscribe, Task task, List<String> labels, int maxTokens,
                          String system, PromptTemplate prompt, PromptTemplate publish, int qos, boolean retain,
                          QueueConfig queue) {

    public static final int DEFAULT_MAX_TOKENS = 64;

    public RouteConfig {
        labels = List.copyOf(labels);
    }
}
