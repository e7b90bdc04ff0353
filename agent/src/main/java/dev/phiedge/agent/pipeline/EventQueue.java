package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.config.QueuePolicy;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.telemetry.DropReason;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;

/**
 * The one bounded queue between intake (Paho's thread) and the inference worker. Each route has its
 * own lane bounded by the route's capacity, so a noisy route cannot starve a quiet one of space, and
 * its own policy for a full lane. The worker takes the event that arrived first across all lanes.
 * Nothing leaves the queue silently: every eviction, refusal, replacement or expiry is handed to the
 * drop listener with its reason.
 *
 * <p>The drop policies apply to QoS 0 events. An event that must not be dropped (QoS 1, journaled) waits
 * for room instead: its producer calls {@link #awaitRoom} before it journals and offers the event, and
 * meanwhile the broker holds the rest (the agent has not acknowledged them). Coalescing and deadlines
 * apply to every event. There is one producer (the daemon's inbox thread), so room once seen stays.
 */
public final class EventQueue {

    private record Entry(long sequence, Event event) {}

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final Condition notFull = lock.newCondition();
    private final Map<String, Deque<Entry>> lanes = new LinkedHashMap<>();
    private final Map<String, RouteConfig> routes = new LinkedHashMap<>();
    private final BiConsumer<Event, DropReason> dropListener;
    private final int capacity;
    private long nextSequence;
    private int depth;
    private int maxDepth;
    private boolean closed;

    public EventQueue(List<RouteConfig> routes, BiConsumer<Event, DropReason> dropListener) {
        int total = 0;
        for (RouteConfig route : routes) {
            this.routes.put(route.name(), route);
            lanes.put(route.name(), new ArrayDeque<>());
            total += route.queue().capacity();
        }
        this.capacity = total;
        this.dropListener = dropListener;
    }

    /**
     * Adds an event under its route's policy. Never blocks (it runs on Paho's thread).
     *
     * @return true if the event is now waiting; false if it was dropped (and counted)
     */
    public boolean offer(Event event) {
        long now = System.nanoTime();
        Event dropped = null;
        DropReason reason = null;
        Event evicted = null;
        DropReason evictedReason = null;
        boolean accepted;
        lock.lock();
        try {
            Deque<Entry> lane = lanes.get(event.route().name());
            if (lane == null) {
                throw new IllegalArgumentException("unknown route " + event.route().name());
            }
            if (closed) {
                dropped = event;
                reason = DropReason.SHUTDOWN;
                accepted = false;
            } else if (event.expiredAt(now)) {
                dropped = event;
                reason = DropReason.EXPIRED;
                accepted = false;
            } else {
                RouteConfig route = routes.get(event.route().name());
                Optional<Event> replaced = route.queue().policy() == QueuePolicy.COALESCE
                        ? removeSameKey(lane, event) : Optional.empty();
                if (replaced.isPresent()) {
                    evicted = replaced.get();
                    evictedReason = DropReason.COALESCED;
                } else if (lane.size() >= route.queue().capacity()) {
                    evicted = removeExpired(lane, now);
                    evictedReason = DropReason.EXPIRED;
                    if (evicted == null && !event.mustNotDrop()) {
                        if (route.queue().policy() == QueuePolicy.DROP_NEWEST) {
                            dropped = event;
                            reason = DropReason.QUEUE_FULL;
                        } else {
                            evicted = lane.pollFirst().event();
                            evictedReason = DropReason.QUEUE_FULL;
                            depth--;
                        }
                    }
                }
                accepted = dropped == null;
                if (accepted) {
                    lane.addLast(new Entry(nextSequence++, event));
                    depth++;
                    maxDepth = Math.max(maxDepth, depth);
                    notEmpty.signal();
                }
            }
        } finally {
            lock.unlock();
        }
        // Listeners run outside the lock: they count and may log.
        if (evicted != null) {
            dropListener.accept(evicted, evictedReason);
        }
        if (dropped != null) {
            dropListener.accept(dropped, reason);
        }
        return accepted;
    }

    /**
     * Waits until each of {@code events} can be offered without a drop: its lane has room, holds an
     * expired event to evict, or holds one with the same coalesce key.
     *
     * @return false when the queue was closed or the time ran out
     */
    public boolean awaitRoom(List<Event> events, long timeout, TimeUnit unit) throws InterruptedException {
        long waitNanos = unit.toNanos(timeout);
        lock.lock();
        try {
            while (!closed) {
                long now = System.nanoTime();
                boolean room = true;
                for (Event event : events) {
                    Deque<Entry> lane = lanes.get(event.route().name());
                    RouteConfig route = routes.get(event.route().name());
                    if (lane.size() < route.queue().capacity()
                            || lane.stream().anyMatch(e -> e.event().expiredAt(now))
                            || (route.queue().policy() == QueuePolicy.COALESCE && event.coalesceKey().isPresent()
                                && lane.stream().anyMatch(e -> e.event().coalesceKey().equals(event.coalesceKey())))) {
                        continue;
                    }
                    room = false;
                    break;
                }
                if (room) {
                    return true;
                }
                if (waitNanos <= 0) {
                    return false;
                }
                // Bounded waits: an event in the lane may pass its deadline without anyone taking it.
                waitNanos -= Math.min(waitNanos, TimeUnit.MILLISECONDS.toNanos(100))
                        - notFull.awaitNanos(Math.min(waitNanos, TimeUnit.MILLISECONDS.toNanos(100)));
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    private Optional<Event> removeSameKey(Deque<Entry> lane, Event event) {
        if (event.coalesceKey().isEmpty()) {
            return Optional.empty();
        }
        for (Iterator<Entry> it = lane.iterator(); it.hasNext(); ) {
            Entry entry = it.next();
            if (entry.event().coalesceKey().equals(event.coalesceKey())) {
                it.remove();
                depth--;
                return Optional.of(entry.event());
            }
        }
        return Optional.empty();
    }

    private Event removeExpired(Deque<Entry> lane, long now) {
        for (Iterator<Entry> it = lane.iterator(); it.hasNext(); ) {
            Entry entry = it.next();
            if (entry.event().expiredAt(now)) {
                it.remove();
                depth--;
                return entry.event();
            }
        }
        return null;
    }

    /**
     * Waits for the next event that is still within its deadline; stale ones met on the way are dropped
     * as expired.
     *
     * @return the event, or empty when the queue is closed or the wait timed out
     */
    public Optional<Event> take(long timeout, TimeUnit unit) throws InterruptedException {
        long waitNanos = unit.toNanos(timeout);
        while (true) {
            Event stale = null;
            lock.lock();
            try {
                Deque<Entry> oldest = null;
                while (oldest == null) {
                    if (closed) {
                        return Optional.empty();
                    }
                    for (Deque<Entry> lane : lanes.values()) {
                        if (!lane.isEmpty() && (oldest == null || lane.peekFirst().sequence() < oldest.peekFirst().sequence())) {
                            oldest = lane;
                        }
                    }
                    if (oldest == null) {
                        if (waitNanos <= 0) {
                            return Optional.empty();
                        }
                        waitNanos = notEmpty.awaitNanos(waitNanos);
                    }
                }
                Event event = oldest.pollFirst().event();
                depth--;
                notFull.signalAll();
                if (!event.expiredAt(System.nanoTime())) {
                    return Optional.of(event);
                }
                stale = event;
            } finally {
                lock.unlock();
            }
            dropListener.accept(stale, DropReason.EXPIRED);
        }
    }

    /**
     * Stops accepting and returns the events still waiting, without dropping them: journaled events are
     * handled again at the next start, and the caller decides about the others.
     */
    public List<Event> close() {
        List<Event> left = new java.util.ArrayList<>();
        lock.lock();
        try {
            closed = true;
            for (Deque<Entry> lane : lanes.values()) {
                lane.forEach(e -> left.add(e.event()));
                lane.clear();
            }
            depth = 0;
            notEmpty.signalAll();
            notFull.signalAll();
        } finally {
            lock.unlock();
        }
        return left;
    }

    public int depth() {
        lock.lock();
        try {
            return depth;
        } finally {
            lock.unlock();
        }
    }

    /** The most events that were ever waiting at once. */
    public int maxDepth() {
        lock.lock();
        try {
            return maxDepth;
        } finally {
            lock.unlock();
        }
    }

    /** The sum of the routes' capacities. */
    public int capacity() {
        return capacity;
    }
}
