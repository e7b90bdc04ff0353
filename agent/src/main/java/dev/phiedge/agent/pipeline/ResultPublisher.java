package dev.phiedge.agent.pipeline;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.phiedge.agent.backend.ClassifyOutcome;
import dev.phiedge.agent.backend.InferenceOutcome;
import dev.phiedge.agent.backend.SummaryOutcome;
import dev.phiedge.agent.mqtt.JsonText;
import dev.phiedge.agent.mqtt.MessageSink;
import dev.phiedge.agent.mqtt.OutboundMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Builds the result JSON of an answered event and publishes it on the route's publish topic and, for an
 * MQTT v5 request, also on its response topic with its correlation data (the stream's subscribers see
 * every decision; the requester gets its own answer).
 */
public final class ResultPublisher {

    private final String deviceId;
    private final String modelName;
    private final MessageSink sink;

    public ResultPublisher(String deviceId, String modelName, MessageSink sink) {
        this.deviceId = deviceId;
        this.modelName = modelName;
        this.sink = sink;
    }

    public ObjectNode result(Event event, InferenceOutcome outcome, long queuedMs, long inferenceMs) {
        ObjectNode json = JsonText.object();
        json.put("device", deviceId);
        json.put("route", event.route().name());
        json.put("task", event.route().task().wireName());
        json.put("source_topic", event.sourceTopic());
        json.put("event_id", event.eventId());
        switch (outcome) {
            case ClassifyOutcome c -> {
                json.put("label", c.label());
                ObjectNode scores = json.putObject("scores");
                c.scores().forEach(scores::put);
            }
            case SummaryOutcome s -> json.put("summary", s.text());
        }
        json.put("model", modelName);
        json.put("prompt_tokens", outcome.promptTokens());
        json.put("generated_tokens", outcome.generatedTokens());
        json.put("queued_ms", queuedMs);
        json.put("inference_ms", inferenceMs);
        json.put("ts", JsonText.now());
        return json;
    }

    public void publish(Event event, ObjectNode result) {
        messages(event, result).forEach(sink::publish);
    }

    /** The messages that carry {@code result}: on the route's topic, and on the response topic of a v5 request. */
    public List<OutboundMessage> messages(Event event, ObjectNode result) {
        byte[] bytes = JsonText.bytes(result);
        List<OutboundMessage> out = new ArrayList<>(2);
        out.add(new OutboundMessage(event.publishTopic(), bytes, event.route().qos(), event.route().retain(),
                Optional.empty()));
        event.responseTopic().ifPresent(topic ->
                out.add(new OutboundMessage(topic, bytes, event.route().qos(), false, event.correlationData())));
        return out;
    }
}
