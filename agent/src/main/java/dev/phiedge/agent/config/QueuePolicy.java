package dev.phiedge.agent.config;

/** What a route's queue lane does when an event arrives and the lane is full. */
public enum QueuePolicy {
    /** Evict the oldest waiting event of the route: fresh readings matter more than stale ones. */
    DROP_OLDEST,
    /** Refuse the arriving event: what is already waiting keeps its turn. */
    DROP_NEWEST,
    /**
     * A newer event replaces the waiting one with the same coalesce key (e.g. the same camera), so a
     * burst about one thing becomes one event; when full with no such event, the oldest is evicted.
     */
    COALESCE;

    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
