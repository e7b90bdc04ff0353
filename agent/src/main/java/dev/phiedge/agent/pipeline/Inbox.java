package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.mqtt.InboundMessage;
import dev.phiedge.agent.store.MessageStore;
import dev.phiedge.agent.telemetry.AgentStats;
import dev.phiedge.agent.telemetry.DropReason;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.tinylog.Logger;

/**
 * Where arriving messages go first. Paho's thread only appends here ({@link #offer}, which never
 * blocks); the inbox's own thread then, for each message in arrival order:
 * <ol>
 *   <li>turns it into events ({@link Intake}), reporting refusals to the outbox;</li>
 *   <li>for a QoS 1 message whose route lanes are full, waits for room: the message is not acknowledged
 *       meanwhile, so the broker holds the rest (at most the Receive Maximum is in flight to us);</li>
 *   <li>journals it in the {@link MessageStore} and queues its events;</li>
 *   <li>after a batch, fsyncs the store and only then acknowledges the batch to the broker.</li>
 * </ol>
 * So an acknowledged event is on disk, and an event lost before its fsync was never acknowledged: the
 * broker sends it again. A message the broker sends again (DUP) that is already in the journal is
 * acknowledged and counted as a duplicate instead of being answered twice.
 *
 * <p>At start, before anything new, the events journaled but not answered before the last stop are
 * queued again.
 */
public final class Inbox implements AutoCloseable {

    /** QoS 0 messages waiting here at most (a QoS 1 flood is bounded by the Receive Maximum instead). */
    private static final int QOS0_CAPACITY = 1000;
    /** Messages handled between two fsyncs at most (a burst is journaled in few fsyncs). */
    private static final int BATCH = 64;
    /** Journaled messages remembered for recognizing the broker's second sends. */
    private static final int RECENT = 4096;

    private final Intake intake;
    private final EventQueue queue;
    private final MessageStore store;
    private final AgentStats stats;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final Deque<InboundMessage> arrived = new ArrayDeque<>();
    private int qos0Waiting;
    private final LinkedHashSet<Fingerprint> recent = new LinkedHashSet<>();
    private final Thread thread;
    private volatile boolean closing;

    private record Fingerprint(String topic, int length, int hash) {
        static Fingerprint of(InboundMessage m) {
            return new Fingerprint(m.topic(), m.payload().length, Arrays.hashCode(m.payload()));
        }
    }

    public Inbox(Intake intake, EventQueue queue, MessageStore store, AgentStats stats) {
        this.intake = intake;
        this.queue = queue;
        this.store = store;
        this.stats = stats;
        this.thread = Thread.ofPlatform().name("inbox").unstarted(this::run);
    }

    public void start() {
        thread.start();
    }

    /** Paho's thread (or a GPIO input's): hands the message over; never blocks. */
    public void offer(InboundMessage message) {
        lock.lock();
        try {
            if (closing) {
                if (message.qos() == 0) {
                    stats.dropped(DropReason.SHUTDOWN); // QoS 1 ones are not acknowledged: the broker sends them again
                }
                return;
            }
            if (message.qos() == 0) {
                if (qos0Waiting >= QOS0_CAPACITY) {
                    stats.dropped(DropReason.QUEUE_FULL);
                    return;
                }
                qos0Waiting++;
            }
            arrived.addLast(message);
            notEmpty.signal();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        try {
            replay();
            List<InboundMessage> unacknowledged = new ArrayList<>();
            while (!closing) {
                InboundMessage message = next(unacknowledged.isEmpty() ? 200 : 0);
                if (message != null) {
                    if (!handle(message)) {
                        break; // closing while it waited for room: not journaled, not acknowledged
                    }
                    unacknowledged.add(message);
                }
                if (!unacknowledged.isEmpty() && (message == null || unacknowledged.size() >= BATCH)) {
                    store.sync();
                    unacknowledged.forEach(InboundMessage::acknowledge);
                    unacknowledged.clear();
                }
            }
            if (!unacknowledged.isEmpty()) {
                store.sync();
                unacknowledged.forEach(InboundMessage::acknowledge);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // A disk failure (full, read-only): nothing more can be journaled, so nothing more is acknowledged.
            Logger.error(e, "The inbox stopped: events can no longer be journaled");
        }
    }

    private InboundMessage next(long waitMillis) throws InterruptedException {
        lock.lock();
        try {
            if (arrived.isEmpty() && waitMillis > 0) {
                notEmpty.await(waitMillis, TimeUnit.MILLISECONDS);
            }
            InboundMessage message = arrived.pollFirst();
            if (message != null && message.qos() == 0) {
                qos0Waiting--;
            }
            return message;
        } finally {
            lock.unlock();
        }
    }

    /** The events left unanswered at the last stop, queued again in their order. */
    private void replay() throws InterruptedException {
        List<MessageStore.Journaled> journaled = store.replayedInbound();
        if (!journaled.isEmpty()) {
            Logger.info("Handling again {} event(s) accepted before the last stop", journaled.size());
        }
        for (MessageStore.Journaled j : journaled) {
            remember(Fingerprint.of(j.message()));
            List<Event> events = intake.events(j.message());
            if (events.isEmpty()) {
                store.resolve(j.sequence(), MessageStore.Resolution.DONE);
                continue;
            }
            if (!queue.awaitRoom(events, Long.MAX_VALUE, TimeUnit.NANOSECONDS)) {
                return; // closing: it stays in the journal
            }
            Receipt receipt = new Receipt(store, j.sequence(), events.size());
            events.forEach(e -> queue.offer(e.journaled(receipt, true)));
        }
    }

    /**
     * Journals and queues one message's events.
     *
     * @return false when the agent closed while the message waited for room (it is neither journaled
     *         nor acknowledged)
     */
    private boolean handle(InboundMessage message) throws InterruptedException {
        Fingerprint fingerprint = Fingerprint.of(message);
        if (message.duplicate() && recent.contains(fingerprint)) {
            stats.duplicate(); // already journaled: acknowledging it is enough
            return true;
        }
        List<Event> events = intake.events(message);
        if (events.isEmpty()) {
            return true; // refused (the report is in the outbox) or not for any route
        }
        boolean mustNotDrop = message.qos() > 0;
        if (mustNotDrop && !queue.awaitRoom(events, Long.MAX_VALUE, TimeUnit.NANOSECONDS)) {
            return false;
        }
        Receipt receipt = new Receipt(store, store.journal(message), events.size());
        remember(fingerprint);
        events.forEach(e -> queue.offer(e.journaled(receipt, mustNotDrop)));
        return true;
    }

    private void remember(Fingerprint fingerprint) {
        recent.add(fingerprint);
        if (recent.size() > RECENT) {
            Iterator<Fingerprint> oldest = recent.iterator();
            oldest.next();
            oldest.remove();
        }
    }

    /**
     * Stops taking messages. Call {@link EventQueue#close()} next, which ends a wait for room; then
     * {@link #close()} waits for the thread.
     */
    public void stopTaking() {
        lock.lock();
        try {
            closing = true;
            notEmpty.signalAll();
            long qos0 = arrived.stream().filter(m -> m.qos() == 0).count();
            if (!arrived.isEmpty()) {
                Logger.info("{} message(s) not yet journaled at shutdown: the broker sends the {} QoS 1 one(s) again; "
                        + "{} QoS 0 one(s) dropped", arrived.size(), arrived.size() - qos0, qos0);
            }
            for (long i = 0; i < qos0; i++) {
                stats.dropped(DropReason.SHUTDOWN);
            }
            arrived.clear();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stopTaking();
        thread.join(10_000);
    }
}
