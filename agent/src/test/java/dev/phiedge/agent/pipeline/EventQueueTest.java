package dev.phiedge.agent.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.config.QueueConfig;
import dev.phiedge.agent.config.QueuePolicy;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.config.Task;
import dev.phiedge.agent.topic.TopicFilter;
import dev.phiedge.agent.template.PromptTemplate;
import dev.phiedge.agent.template.TemplateField;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EventQueueTest {

    private final List<String> drops = new ArrayList<>();

    private static RouteConfig route(String name, QueuePolicy policy, int capacity) throws Exception {
        Optional<TemplateField> key = policy == QueuePolicy.COALESCE
                ? Optional.of(new TemplateField.PayloadPath("camera", List.of("camera"))) : Optional.empty();
        return new RouteConfig(name, TopicFilter.of(name), Task.SUMMARIZE, List.of(), 8, "",
                PromptTemplate.parse("p"), PromptTemplate.parse("out"), 1, false,
                new QueueConfig(policy, key, capacity, Optional.empty()));
    }

    private static Event event(RouteConfig route, String id, String key, long deadlineNanos) {
        return new Event(route, route.name(), "p", "out", id, Optional.empty(), Optional.empty(), Optional.ofNullable(key),
                System.nanoTime(), deadlineNanos);
    }

    private static Event event(RouteConfig route, String id) {
        return event(route, id, null, Long.MAX_VALUE);
    }

    private EventQueue queue(RouteConfig... routes) {
        return new EventQueue(List.of(routes), (e, reason) -> drops.add(e.eventId() + ":" + reason.wireName()));
    }

    private static List<String> drain(EventQueue queue) throws InterruptedException {
        List<String> ids = new ArrayList<>();
        for (Optional<Event> e = queue.take(0, TimeUnit.MILLISECONDS); e.isPresent(); e = queue.take(0, TimeUnit.MILLISECONDS)) {
            ids.add(e.get().eventId());
        }
        return ids;
    }

    @Test
    void dropOldestKeepsTheNewest() throws Exception {
        RouteConfig r = route("r", QueuePolicy.DROP_OLDEST, 3);
        EventQueue q = queue(r);
        for (int i = 1; i <= 5; i++) {
            assertTrue(q.offer(event(r, "e" + i)));
        }
        assertEquals(List.of("e1:queue_full", "e2:queue_full"), drops);
        assertEquals(List.of("e3", "e4", "e5"), drain(q));
        assertEquals(3, q.maxDepth());
    }

    @Test
    void dropNewestKeepsWhatIsWaiting() throws Exception {
        RouteConfig r = route("r", QueuePolicy.DROP_NEWEST, 2);
        EventQueue q = queue(r);
        assertTrue(q.offer(event(r, "e1")));
        assertTrue(q.offer(event(r, "e2")));
        assertFalse(q.offer(event(r, "e3")));
        assertEquals(List.of("e3:queue_full"), drops);
        assertEquals(List.of("e1", "e2"), drain(q));
    }

    @Test
    void coalesceReplacesTheWaitingEventWithTheSameKey() throws Exception {
        RouteConfig r = route("r", QueuePolicy.COALESCE, 10);
        EventQueue q = queue(r);
        q.offer(event(r, "door-1", "door", Long.MAX_VALUE));
        q.offer(event(r, "yard-1", "yard", Long.MAX_VALUE));
        q.offer(event(r, "door-2", "door", Long.MAX_VALUE));
        q.offer(event(r, "door-3", "door", Long.MAX_VALUE));
        q.offer(event(r, "nokey", null, Long.MAX_VALUE));
        assertEquals(List.of("door-1:coalesced", "door-2:coalesced"), drops);
        assertEquals(List.of("yard-1", "door-3", "nokey"), drain(q));
    }

    @Test
    void staleEventsAreDroppedAsExpired() throws Exception {
        RouteConfig r = route("r", QueuePolicy.DROP_OLDEST, 2);
        EventQueue q = queue(r);
        long past = System.nanoTime() - Duration.ofSeconds(1).toNanos();
        assertFalse(q.offer(event(r, "already-stale", null, past)));
        long soon = System.nanoTime() + Duration.ofMillis(50).toNanos();
        q.offer(event(r, "short-lived", null, soon));
        q.offer(event(r, "fresh"));
        Thread.sleep(100);
        // A full lane first makes room by evicting what has expired, not what is still fresh.
        q.offer(event(r, "newest"));
        assertEquals(List.of("already-stale:expired", "short-lived:expired"), drops);
        assertEquals(List.of("fresh", "newest"), drain(q));
    }

    @Test
    void lanesAreBoundedSeparatelyAndServedInArrivalOrder() throws Exception {
        RouteConfig a = route("a", QueuePolicy.DROP_OLDEST, 2);
        RouteConfig b = route("b", QueuePolicy.DROP_OLDEST, 2);
        EventQueue q = queue(a, b);
        q.offer(event(a, "a1"));
        q.offer(event(b, "b1"));
        q.offer(event(a, "a2"));
        q.offer(event(a, "a3"));
        assertEquals(List.of("a1:queue_full"), drops, "a noisy route evicts its own events only");
        assertEquals(4, q.capacity());
        assertEquals(List.of("b1", "a2", "a3"), drain(q));
    }

    @Test
    void closeHandsBackWhatIsWaitingWithoutDroppingItAndRefusesMore() throws Exception {
        RouteConfig r = route("r", QueuePolicy.DROP_OLDEST, 5);
        EventQueue q = queue(r);
        q.offer(event(r, "e1"));
        assertEquals(List.of("e1"), q.close().stream().map(Event::eventId).toList());
        assertFalse(q.offer(event(r, "e2")));
        assertEquals(List.of("e2:shutdown"), drops, "what was waiting is the caller's (the journal keeps it)");
        assertEquals(Optional.empty(), q.take(1, TimeUnit.SECONDS));
    }

    private static Event mustNotDrop(RouteConfig route, String id) {
        return event(route, id).journaled(Receipt.NONE, true);
    }

    @Test
    void anEventThatMustNotBeDroppedIsNeverDroppedByTheLanePolicy() throws Exception {
        for (QueuePolicy policy : List.of(QueuePolicy.DROP_OLDEST, QueuePolicy.DROP_NEWEST)) {
            drops.clear();
            RouteConfig r = route("r", policy, 2);
            EventQueue q = queue(r);
            assertTrue(q.offer(mustNotDrop(r, "a")));
            assertTrue(q.offer(mustNotDrop(r, "b")));
            assertTrue(q.offer(mustNotDrop(r, "c")), policy.name());
            assertEquals(List.of(), drops, policy.name());
            assertEquals(List.of("a", "b", "c"), drain(q), policy.name());
        }
    }

    @Test
    void awaitRoomWaitsForTheWorkerToTakeAnEvent() throws Exception {
        RouteConfig r = route("r", QueuePolicy.DROP_OLDEST, 1);
        RouteConfig other = route("other", QueuePolicy.DROP_OLDEST, 1);
        EventQueue q = queue(r, other);
        q.offer(mustNotDrop(r, "a"));
        List<Event> next = List.of(mustNotDrop(r, "b"));
        assertFalse(q.awaitRoom(next, 50, TimeUnit.MILLISECONDS), "the lane is full");
        assertTrue(q.awaitRoom(List.of(mustNotDrop(other, "x")), 0, TimeUnit.MILLISECONDS), "another lane has room");
        Thread taker = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(100);
                q.take(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(q.awaitRoom(next, 5, TimeUnit.SECONDS));
        taker.join();
        q.close();
        assertFalse(q.awaitRoom(next, 5, TimeUnit.SECONDS), "a closed queue has no room");
    }

    @Test
    void awaitRoomSeesRoomWhereAnEventWouldCoalesceOrHasExpired() throws Exception {
        RouteConfig r = route("r", QueuePolicy.COALESCE, 1);
        EventQueue q = queue(r);
        q.offer(event(r, "a", "front", Long.MAX_VALUE));
        assertTrue(q.awaitRoom(List.of(event(r, "b", "front", Long.MAX_VALUE)), 0, TimeUnit.MILLISECONDS));
        assertFalse(q.awaitRoom(List.of(event(r, "c", "garage", Long.MAX_VALUE)), 0, TimeUnit.MILLISECONDS));

        RouteConfig s = route("s", QueuePolicy.DROP_OLDEST, 1);
        EventQueue q2 = queue(s);
        q2.offer(event(s, "old", null, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(30)));
        assertTrue(q2.awaitRoom(List.of(mustNotDrop(s, "new")), 2, TimeUnit.SECONDS), "the waiting event expires");
    }
}
