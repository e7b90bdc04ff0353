package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.store.MessageStore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The journal entry of one accepted message, shared by the events it became (one per matching route).
 * Each event reports here when it needs nothing more (answered, refused or dropped); after the last
 * one the entry is resolved, so the message is not handled again after a restart.
 */
public final class Receipt {

    /** For events nobody journaled (the command line's {@code once}, tests): reporting does nothing. */
    public static final Receipt NONE = new Receipt(null, 0, 0);

    private final MessageStore store;
    private final long sequence;
    private final AtomicInteger open;

    public Receipt(MessageStore store, long sequence, int events) {
        this.store = store;
        this.sequence = sequence;
        this.open = new AtomicInteger(events);
    }

    /** One of the message's events is finished with; the last one resolves the journal entry. */
    public void eventDone() {
        if (store != null && open.decrementAndGet() == 0) {
            store.resolve(sequence, MessageStore.Resolution.DONE);
        }
    }

    public long sequence() {
        return sequence;
    }
}
