package dev.phiedge.agent.telemetry;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The agent's counters, written from intake, the worker and the queue, read by the stats reporter.
 * Latency percentiles come from a window of the most recent events, so they describe now, not the
 * average since boot.
 */
public final class AgentStats {

    private static final int WINDOW = 1024;

    private final AtomicLong received = new AtomicLong();
    private final AtomicLong processed = new AtomicLong();
    private final Map<DropReason, LongAdder> dropped = new EnumMap<>(DropReason.class);
    private final Map<RejectReason, LongAdder> rejected = new EnumMap<>(RejectReason.class);
    private final AtomicLong duplicates = new AtomicLong();
    private final AtomicLong filtered = new AtomicLong();
    private final AtomicLong writebackFailed = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong publishRefused = new AtomicLong();
    private final AtomicLong subscribeRefused = new AtomicLong();
    private final AtomicLong outboxDropped = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong inferenceNanos = new AtomicLong();
    private final long[] latencyWindow = new long[WINDOW];
    private long latencyCount;

    public AgentStats() {
        for (DropReason r : DropReason.values()) {
            dropped.put(r, new LongAdder());
        }
        for (RejectReason r : RejectReason.values()) {
            rejected.put(r, new LongAdder());
        }
    }

    public void received() {
        received.incrementAndGet();
    }

    public void dropped(DropReason reason) {
        dropped.get(reason).increment();
    }

    public void rejected(RejectReason reason) {
        rejected.get(reason).increment();
    }

    /** An event a route's {@code when:} conditions left out (not an error). */
    public void filtered() {
        filtered.incrementAndGet();
    }

    /** A summary that could not be written back to Frigate. */
    public void writebackFailed() {
        writebackFailed.incrementAndGet();
    }

    /** A message the broker sent again that was already journaled: acknowledged, not answered twice. */
    public void duplicate() {
        duplicates.incrementAndGet();
    }

    /** A message from the outbox acknowledged by the broker. */
    public void delivered() {
        delivered.incrementAndGet();
    }

    /** A publish the broker refused for good (PUBACK reason code 0x80 or more). */
    public void publishRefused() {
        publishRefused.incrementAndGet();
    }

    /** A subscription the broker refused (SUBACK reason code 0x80 or more). */
    public void subscribeRefused() {
        subscribeRefused.incrementAndGet();
    }

    /** An undelivered message dropped because the store reached its size limit. */
    public void outboxDropped() {
        outboxDropped.incrementAndGet();
    }

    /**
     * One answered event, counted once its result is durably queued for the broker: its end-to-end latency (queue wait plus inference) and its tokens. */
    public void processed(long latencyMs, long inferenceNanos, int promptTokens, int generatedTokens) {
        processed.incrementAndGet();
        this.inferenceNanos.addAndGet(inferenceNanos);
        this.promptTokens.addAndGet(promptTokens);
        this.generatedTokens.addAndGet(generatedTokens);
        synchronized (latencyWindow) {
            latencyWindow[(int) (latencyCount++ % WINDOW)] = latencyMs;
        }
    }

    public Snapshot snapshot() {
        long[] window;
        synchronized (latencyWindow) {
            window = Arrays.copyOf(latencyWindow, (int) Math.min(latencyCount, WINDOW));
        }
        Arrays.sort(window);
        Map<DropReason, Long> drops = new EnumMap<>(DropReason.class);
        dropped.forEach((k, v) -> drops.put(k, v.sum()));
        Map<RejectReason, Long> rejects = new EnumMap<>(RejectReason.class);
        rejected.forEach((k, v) -> rejects.put(k, v.sum()));
        long nanos = inferenceNanos.get();
        double tokensPerSecond = nanos == 0 ? 0 : (promptTokens.get() + generatedTokens.get()) * 1e9 / nanos;
        return new Snapshot(received.get(), processed.get(), drops, rejects, percentile(window, 50),
                percentile(window, 95), tokensPerSecond, generatedTokens.get(), promptTokens.get(), duplicates.get(),
                delivered.get(), publishRefused.get(), subscribeRefused.get(), outboxDropped.get(), filtered.get(),
                writebackFailed.get());
    }

    private static long percentile(long[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    /**
     * The counters at one moment.
     *
     * @param tokensPerSecond prompt and generated tokens per second of inference time
     * @param duplicates      messages the broker sent again that were already journaled
     * @param delivered       outbox messages the broker acknowledged
     * @param outboxDropped   undelivered messages dropped at the store's size limit
     * @param filtered        events a route's conditions left out
     * @param writebackFailed summaries not written back to Frigate
     */
    public record Snapshot(long received, long processed, Map<DropReason, Long> dropped, Map<RejectReason, Long> rejected,
                           long latencyP50Ms, long latencyP95Ms, double tokensPerSecond, long generatedTokens,
                           long promptTokens, long duplicates, long delivered, long publishRefused,
                           long subscribeRefused, long outboxDropped, long filtered, long writebackFailed) {
        public long droppedTotal() {
            return dropped.values().stream().mapToLong(Long::longValue).sum();
        }

        public long rejectedTotal() {
            return rejected.values().stream().mapToLong(Long::longValue).sum();
        }
    }
}
