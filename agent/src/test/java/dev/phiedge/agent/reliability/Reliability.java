package dev.phiedge.agent.reliability;

import dev.phiedge.agent.testing.AgentYaml;
import dev.phiedge.agent.testing.EventLedger;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the reliability tests share: their time limits and the one-line report each prints. */
final class Reliability {
    private Reliability() {}

    /** A child JVM loads the model, warms it up and connects well within this (about 2-5 s here). */
    static final Duration ONLINE = Duration.ofSeconds(60);
    /** A reconnect after the broker or the link is back takes a couple of seconds (reconnect_max_s is 2). */
    static final Duration RECONNECT = Duration.ofSeconds(30);
    /** No new answer for this long means the rest are not coming (the agent answers several per second). */
    static final Duration STALL = Duration.ofSeconds(20);
    /** After the last expected answer, late duplicates get this long to show up. */
    static final Duration SETTLE = Duration.ofSeconds(1);

    /** Figures in the order given, as {@code key=value}. */
    static Map<String, Object> figures() {
        return new LinkedHashMap<>();
    }

    /**
     * Prints {@code RELIABILITY <test> key=value ...} with the ledger's account and whether the store keys
     * were in the configuration, and returns the line for assertion messages.
     */
    static String report(String test, EventLedger.Summary summary, Map<String, Object> figures) {
        StringBuilder line = new StringBuilder("RELIABILITY ").append(test);
        if (summary != null) {
            line.append(' ').append(summary.line());
        }
        figures.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
        line.append(' ').append(AgentYaml.keysNote());
        System.out.println(line);
        return line.toString();
    }

    static long ms(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
