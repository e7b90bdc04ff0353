package dev.phiedge.agent.telemetry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.phiedge.agent.mqtt.JsonText;
import dev.phiedge.agent.mqtt.MessageSink;
import dev.phiedge.agent.mqtt.OutboundMessage;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import org.tinylog.Logger;

/** Publishes {@code <topic_prefix>/<device_id>/stats} periodically from its own thread. */
public final class StatsReporter implements AutoCloseable {

    private final String deviceId;
    private final String topic;
    private final AgentStats stats;
    private final IntSupplier queueDepth;
    private final IntSupplier queueMaxDepth;
    private final IntSupplier queueCapacity;
    private final LongSupplier outboxBacklog;
    private final MessageSink sink;
    private final long startedNanos = System.nanoTime();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().name("stats").daemon(true).unstarted(r));

    /**
     * @param queueDepth    events waiting now ({@code EventQueue::depth})
     * @param queueMaxDepth the most that ever waited at once ({@code EventQueue::maxDepth})
     * @param queueCapacity the bound they wait within ({@code EventQueue::capacity})
     */
    public StatsReporter(String deviceId, String topic, AgentStats stats, IntSupplier queueDepth,
                         IntSupplier queueMaxDepth, IntSupplier queueCapacity, LongSupplier outboxBacklog,
                         MessageSink sink) {
        this.deviceId = deviceId;
        this.topic = topic;
        this.stats = stats;
        this.queueDepth = queueDepth;
        this.queueMaxDepth = queueMaxDepth;
        this.queueCapacity = queueCapacity;
        this.outboxBacklog = outboxBacklog;
        this.sink = sink;
    }

    public void start(Duration interval) {
        scheduler.scheduleAtFixedRate(this::publishNow, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    public ObjectNode snapshotJson() {
        AgentStats.Snapshot s = stats.snapshot();
        ObjectNode json = JsonText.object();
        json.put("device", deviceId);
        json.put("uptime_s", TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startedNanos));
        json.put("queue_depth", queueDepth.getAsInt());
        json.put("queue_max_depth", queueMaxDepth.getAsInt());
        json.put("queue_capacity", queueCapacity.getAsInt());
        json.put("received", s.received());
        json.put("processed", s.processed());
        ObjectNode dropped = json.putObject("dropped");
        s.dropped().forEach((reason, count) -> dropped.put(reason.wireName(), count));
        json.put("dropped_total", s.droppedTotal());
        ObjectNode rejected = json.putObject("rejected");
        s.rejected().forEach((reason, count) -> rejected.put(reason.wireName(), count));
        json.put("rejected_total", s.rejectedTotal());
        json.put("duplicates", s.duplicates());
        json.put("filtered", s.filtered());
        json.put("frigate_writeback_failed", s.writebackFailed());
        // outbox: results and reports waiting for the broker (on disk), delivered, refused by the broker
        // for good, and dropped at the store's size limit (outbox_overflow)
        json.put("outbox_backlog", outboxBacklog.getAsLong());
        json.put("delivered", s.delivered());
        json.put("publish_refused", s.publishRefused());
        json.put("subscribe_refused", s.subscribeRefused());
        json.put("outbox_overflow", s.outboxDropped());
        ObjectNode latency = json.putObject("latency_ms");
        latency.put("p50", s.latencyP50Ms());
        latency.put("p95", s.latencyP95Ms());
        json.put("tokens_per_s", Math.round(s.tokensPerSecond() * 10) / 10.0);
        Runtime rt = Runtime.getRuntime();
        json.put("heap_used_bytes", rt.totalMemory() - rt.freeMemory());
        json.put("heap_max_bytes", rt.maxMemory());
        ProcessMemory.residentBytes().ifPresent(rss -> json.put("rss_bytes", rss));
        json.put("ts", JsonText.now());
        return json;
    }

    public void publishNow() {
        try {
            sink.publish(OutboundMessage.of(topic, JsonText.bytes(snapshotJson()), 0, false));
        } catch (RuntimeException e) {
            Logger.error(e, "Publishing stats failed");
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
