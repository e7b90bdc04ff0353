package dev.phiedge.agent.pipeline;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.phiedge.agent.mqtt.JsonText;
import dev.phiedge.agent.mqtt.MessageSink;
import dev.phiedge.agent.mqtt.OutboundMessage;
import dev.phiedge.agent.telemetry.AgentStats;
import dev.phiedge.agent.telemetry.RejectReason;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * Publishes each rejected event on {@code <topic_prefix>/<device_id>/errors} with its topic and reason,
 * and counts it. The payload itself is never echoed: it may be huge, binary or private.
 */
public final class ErrorReporter {

    private final String deviceId;
    private final String errorsTopic;
    private final AgentStats stats;
    private final MessageSink outbox;

    /** @param outbox must not block on the broker (the daemon passes its {@link Outbox}) */
    public ErrorReporter(String deviceId, String errorsTopic, AgentStats stats, MessageSink outbox) {
        this.deviceId = deviceId;
        this.errorsTopic = errorsTopic;
        this.stats = stats;
        this.outbox = outbox;
    }

    public void report(String sourceTopic, Optional<String> route, RejectReason reason, String detail,
                       Optional<String> eventId) {
        stats.rejected(reason);
        // Debug, not warn: a misbehaving publisher could otherwise fill a device's log; stats count them.
        Logger.debug("Rejected event on '{}' ({}): {}", sourceTopic, reason.wireName(), detail);
        ObjectNode json = JsonText.object();
        json.put("device", deviceId);
        json.put("source_topic", sourceTopic);
        route.ifPresent(r -> json.put("route", r));
        eventId.ifPresent(id -> json.put("event_id", id));
        json.put("reason", reason.wireName());
        json.put("detail", detail);
        json.put("ts", JsonText.now());
        outbox.publish(OutboundMessage.of(errorsTopic, JsonText.bytes(json), 1, false));
    }

    /** Reports a summary that could not be written back to Frigate (reason {@code frigate_writeback_failed}). */
    public void reportWriteback(String eventId, String reason, String detail) {
        publishReport("event_id", eventId, reason, detail);
    }

    /**
     * Reports something the broker refused (a publish or a subscription) on the errors topic; the caller
     * has counted and logged it.
     *
     * @param reason {@code publish_refused} or {@code subscribe_refused}
     */
    public void reportDelivery(String topic, String reason, String detail) {
        publishReport("topic", topic, reason, detail);
    }

    /** A report that is about no event of a route: what it concerns ({@code key}: {@code value}), why, and how. */
    private void publishReport(String key, String value, String reason, String detail) {
        ObjectNode json = JsonText.object();
        json.put("device", deviceId);
        json.put(key, value);
        json.put("reason", reason);
        json.put("detail", detail);
        json.put("ts", JsonText.now());
        outbox.publish(OutboundMessage.of(errorsTopic, JsonText.bytes(json), 1, false));
    }
}
