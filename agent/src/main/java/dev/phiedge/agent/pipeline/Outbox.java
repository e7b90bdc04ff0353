package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.mqtt.MessageSink;
import dev.phiedge.agent.mqtt.OutboundMessage;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * A bounded hand-off for messages produced on threads that must not publish themselves: error reports
 * raised on Paho's intake thread go out from here. A flood of bad payloads fills it and then costs
 * only a counter, never memory or Paho's time.
 */
public final class Outbox implements AutoCloseable {

    private final MessageSink sink;
    private final BlockingQueue<OutboundMessage> queue;
    private final AtomicLong overflow = new AtomicLong();
    private final Thread thread;
    private volatile boolean closing;

    public Outbox(MessageSink sink, int capacity) {
        this.sink = sink;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.thread = Thread.ofPlatform().name("outbox").daemon(true).unstarted(this::run);
    }

    public void start() {
        thread.start();
    }

    /** Queues a message; when full it is discarded and counted. Never blocks. */
    public void offer(OutboundMessage message) {
        if (closing || !queue.offer(message)) {
            overflow.incrementAndGet();
        }
    }

    /** Messages discarded because the outbox was full. */
    public long overflow() {
        return overflow.get();
    }

    private void run() {
        while (!closing || !queue.isEmpty()) {
            try {
                OutboundMessage message = queue.poll(100, TimeUnit.MILLISECONDS);
                if (message != null) {
                    sink.publish(message);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                Logger.error(e, "Publishing from the outbox failed");
            }
        }
    }

    /** Sends what is queued (waiting a few seconds at most), then stops. */
    @Override
    public void close() throws InterruptedException {
        closing = true;
        thread.join(5_000);
        thread.interrupt();
    }
}
