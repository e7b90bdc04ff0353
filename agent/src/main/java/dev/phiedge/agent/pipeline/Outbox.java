package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.mqtt.MessageSink;
import dev.phiedge.agent.mqtt.MqttConnection;
import dev.phiedge.agent.mqtt.OutboundMessage;
import dev.phiedge.agent.store.MessageStore;
import dev.phiedge.agent.telemetry.AgentStats;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.tinylog.Logger;

/**
 * Store and forward: every result and error report is written to the {@link MessageStore} first, then
 * published by the outbox's own thread, and resolved in the store only when the broker has it (PUBACK
 * for QoS 1). While the broker or the network is away the messages wait on disk, for as long as the
 * outage lasts (up to the store's size limit, past which the oldest are dropped and counted), and are
 * delivered in order after the next connect while new ones keep coming.
 *
 * <p>A publish the broker refuses for good (PUBACK reason code 0x80 or more, such as 0x87 for a topic
 * its ACL denies) is logged (at most once a minute per topic), counted and reported on the errors
 * topic; it is not retried. A publish that fails otherwise (connection lost before the PUBACK) is
 * sent again after the next connect, so a result can arrive twice, as QoS 1 allows.
 *
 * <p>Paho's delivery callbacks only hand the outcome to this thread, which does the disk work: they
 * must never block Paho.
 */
public final class Outbox implements MessageSink, AutoCloseable {

    /** Messages published but not yet answered by the broker, at most. */
    private static final int WINDOW = 16;
    private static final long REFUSAL_LOG_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

    private record Pending(long sequence, OutboundMessage message) {}

    private record Outcome(long sequence, int connection, Kind kind, int reasonCode, String detail) {
        enum Kind { DELIVERED, REFUSED, FAILED }
    }

    private final MessageStore store;
    private final MqttConnection connection;
    private final AgentStats stats;
    private final String errorsTopic;
    private ErrorReporter errors;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Deque<Pending> waiting = new ArrayDeque<>();
    /** In flight: sequence to the message and the connection it was sent on. */
    private final TreeMap<Long, Pending> inFlight = new TreeMap<>();
    private final Map<Long, Integer> inFlightConnection = new HashMap<>();
    private final ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    private final Map<String, Long> lastRefusalLog = new HashMap<>();
    private final Thread thread;
    private volatile boolean closing;
    private volatile long drainUntilNanos;

    public Outbox(MessageStore store, MqttConnection connection, AgentStats stats, String errorsTopic) {
        this.store = store;
        this.connection = connection;
        this.stats = stats;
        this.errorsTopic = errorsTopic;
        for (MessageStore.Queued q : store.replayedOutbound()) {
            waiting.addLast(new Pending(q.sequence(), q.message()));
        }
        // Called under the store's lock: count only (the dropped messages leave the queue in purge()).
        store.onDroppedForSpace(seq -> stats.outboxDropped());
        this.thread = Thread.ofPlatform().name("outbox").daemon(true).unstarted(this::run);
    }

    /** Where refusals are reported (the reporter itself publishes through this outbox). */
    public void reportRefusalsTo(ErrorReporter errors) {
        this.errors = errors;
    }

    public void start() {
        thread.start();
    }

    /**
     * Queues a message: written to the store now (durable at the next {@link #commit()} or store sync),
     * published by the outbox thread. Never blocks on the broker.
     */
    @Override
    public void publish(OutboundMessage message) {
        long sequence = store.enqueue(message);
        lock.lock();
        try {
            waiting.addLast(new Pending(sequence, message));
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * An event's answer: queues {@code messages}, marks the event done in the journal, fsyncs, runs
     * {@code whenDurable} (the count of processed events), and only then lets the messages go out, so
     * whoever receives them also sees them counted.
     */
    public void publishDurably(java.util.List<OutboundMessage> messages, Receipt receipt, Runnable whenDurable) {
        java.util.List<Pending> staged = new java.util.ArrayList<>(messages.size());
        for (OutboundMessage message : messages) {
            staged.add(new Pending(store.enqueue(message), message));
        }
        receipt.eventDone();
        store.sync();
        whenDurable.run();
        lock.lock();
        try {
            waiting.addAll(staged);
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Makes every message queued so far durable (fsync). */
    public void commit() {
        store.sync();
    }

    /** Messages waiting or in flight. */
    public int backlog() {
        lock.lock();
        try {
            return waiting.size() + inFlight.size();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        int seenConnection = connection.generation();
        while (true) {
            lock.lock();
            try {
                if (closing && (System.nanoTime() - drainUntilNanos > 0 || (waiting.isEmpty() && inFlight.isEmpty()))) {
                    return;
                }
                if (outcomes.isEmpty()) {
                    work.await(50, TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            handleOutcomes();
            purge();
            int current = connection.generation();
            if (current != seenConnection) {
                seenConnection = current;
                resendInFlight(current);
            }
            if (connection.isConnected()) {
                sendMore(current);
            }
        }
    }

    /** A new connection: what was in flight on an earlier one goes out again, before anything newer. */
    private void resendInFlight(int current) {
        lock.lock();
        try {
            var older = inFlight.entrySet().iterator();
            Deque<Pending> again = new ArrayDeque<>();
            while (older.hasNext()) {
                var entry = older.next();
                if (inFlightConnection.get(entry.getKey()) != current) {
                    again.addLast(entry.getValue());
                    inFlightConnection.remove(entry.getKey());
                    older.remove();
                }
            }
            while (!again.isEmpty()) {
                waiting.addFirst(again.pollLast());
            }
        } finally {
            lock.unlock();
        }
    }

    /** Forgets the messages the store dropped for space: the oldest, so at the head of the queue. */
    private void purge() {
        lock.lock();
        try {
            while (!waiting.isEmpty() && !store.isLive(waiting.peekFirst().sequence())) {
                waiting.pollFirst();
            }
        } finally {
            lock.unlock();
        }
    }

    private void sendMore(int current) {
        while (true) {
            Pending next;
            lock.lock();
            try {
                if (inFlight.size() >= WINDOW || waiting.isEmpty()) {
                    return;
                }
                next = waiting.pollFirst();
                if (!store.isLive(next.sequence())) {
                    continue; // dropped for space, or delivered by an earlier send after all
                }
                inFlight.put(next.sequence(), next);
                inFlightConnection.put(next.sequence(), current);
            } finally {
                lock.unlock();
            }
            long sequence = next.sequence();
            connection.publish(next.message(), new MqttConnection.Delivery() {
                @Override
                public void delivered() {
                    outcome(new Outcome(sequence, current, Outcome.Kind.DELIVERED, 0, ""));
                }

                @Override
                public void refused(int reasonCode, String reason) {
                    outcome(new Outcome(sequence, current, Outcome.Kind.REFUSED, reasonCode, reason));
                }

                @Override
                public void failed(String reason) {
                    outcome(new Outcome(sequence, current, Outcome.Kind.FAILED, 0, reason));
                }
            });
        }
    }

    /** Paho's thread (or ours): hand over and wake the outbox thread, nothing more. */
    private void outcome(Outcome outcome) {
        outcomes.add(outcome);
        lock.lock();
        try {
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    private void handleOutcomes() {
        java.util.List<Pending> again = new java.util.ArrayList<>();
        for (Outcome o; (o = outcomes.poll()) != null; ) {
            Pending pending;
            lock.lock();
            try {
                pending = inFlight.get(o.sequence());
                boolean current = pending != null && inFlightConnection.get(o.sequence()) == o.connection();
                if (o.kind() == Outcome.Kind.FAILED) {
                    if (current) {
                        inFlight.remove(o.sequence());
                        inFlightConnection.remove(o.sequence());
                        again.add(pending);
                    }
                    continue;
                }
                if (pending != null) {
                    inFlight.remove(o.sequence());
                    inFlightConnection.remove(o.sequence());
                }
            } finally {
                lock.unlock();
            }
            if (!store.isLive(o.sequence())) {
                continue; // already resolved: a second send of the same message
            }
            if (o.kind() == Outcome.Kind.DELIVERED) {
                store.resolve(o.sequence(), MessageStore.Resolution.DELIVERED);
                stats.delivered();
            } else {
                store.resolve(o.sequence(), MessageStore.Resolution.REFUSED);
                String topic = pending != null ? pending.message().topic() : "?";
                refused(topic, o.reasonCode(), o.detail());
            }
        }
        if (!again.isEmpty()) {
            // Try again, before anything newer and in their order.
            again.sort(java.util.Comparator.comparingLong(Pending::sequence).reversed());
            lock.lock();
            try {
                again.forEach(waiting::addFirst);
            } finally {
                lock.unlock();
            }
            try {
                Thread.sleep(20); // not connected, or the broker's Receive Maximum is reached: let acks come in
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void refused(String topic, int reasonCode, String detail) {
        stats.publishRefused();
        long now = System.nanoTime();
        Long last = lastRefusalLog.get(topic);
        if (last == null || now - last > REFUSAL_LOG_INTERVAL_NANOS) {
            lastRefusalLog.put(topic, now);
            Logger.warn("The broker refused a publish to '{}': {} (further refusals for this topic are counted, "
                    + "and logged at most once a minute)", topic, detail);
        }
        if (errors != null && !topic.equals(errorsTopic)) {
            errors.reportDelivery(topic, "publish_refused", "the broker refused the publish to '" + topic + "': " + detail);
        }
    }

    /**
     * Stops after delivering what it can within {@code grace} (when connected); whatever is left stays
     * in the store and goes out after the next start.
     */
    public void close(Duration grace) throws InterruptedException {
        drainUntilNanos = System.nanoTime() + (connection.isConnected() ? grace.toNanos() : 0);
        closing = true;
        lock.lock();
        try {
            work.signal();
        } finally {
            lock.unlock();
        }
        thread.join(grace.toMillis() + 2_000);
        thread.interrupt();
        int left = backlog();
        if (left > 0) {
            Logger.info("{} message(s) not yet delivered are kept in the store for the next start", left);
        }
    }

    @Override
    public void close() throws InterruptedException {
        close(Duration.ofSeconds(5));
    }
}
