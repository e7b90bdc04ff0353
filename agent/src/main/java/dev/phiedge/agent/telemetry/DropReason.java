package dev.phiedge.agent.telemetry;

/** Why an accepted event was never answered. Every drop is counted under one of these. */
public enum DropReason {
    /** Evicted or refused because its route's lane was full (drop_oldest / drop_newest). */
    QUEUE_FULL,
    /** Replaced by a newer event with the same coalesce key. */
    COALESCED,
    /** Waited past its deadline (route deadline_s or MQTT v5 message expiry). */
    EXPIRED,
    /** Arrived while the agent was shutting down (a QoS 0 event: a QoS 1 one is sent again by the broker). */
    SHUTDOWN,
    /** Published by an edge agent (its mark): agents never answer each other. */
    LOOP;

    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
