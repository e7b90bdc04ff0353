package dev.phiedge.agent.gpio;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.pi4j.context.Context;
import com.pi4j.io.gpio.digital.DigitalInput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.io.gpio.digital.PullResistance;
import dev.phiedge.agent.config.GpioConfig;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The configured digital inputs. A level change counts once it has held for the input's debounce time
 * (a bouncing contact or a flickering PIR gives one event, not ten); a counted change on a configured
 * edge becomes an event JSON on the input's topic:
 * <pre>{"pin":23,"name":"pir-front","state":"high","ts":"2025-06-01T12:00:00.123Z"}</pre>
 * Debouncing is done here rather than by the driver, so every provider (the mock included) behaves the
 * same. Pi4J's listener thread only schedules; the settle check and the sink run on this class's own
 * single thread, so a slow sink never stalls Pi4J and events of one input stay in order.
 */
public final class GpioInputs implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "gpio-inputs");
        thread.setDaemon(true);
        return thread;
    });
    private final List<Watched> watched = new ArrayList<>();
    private final GpioEventSink sink;
    private final Clock clock;
    private volatile boolean closed;

    /** Creates every configured input on the context and starts watching it. */
    public GpioInputs(Context context, GpioConfig config, GpioEventSink sink) throws GpioUnavailableException {
        this(context, config, sink, Clock.systemUTC());
    }

    GpioInputs(Context context, GpioConfig config, GpioEventSink sink, Clock clock) throws GpioUnavailableException {
        this.sink = sink;
        this.clock = clock;
        String providerId = GpioProvider.inputProviderId(config.provider());
        try {
            for (GpioConfig.Input input : config.inputs()) {
                DigitalInput pin;
                try {
                    pin = context.create(DigitalInput.newConfigBuilder(context)
                            .id(input.name()).name(input.name()).address(input.pin())
                            .pull(pull(input.pull())).debounce(0L).provider(providerId));
                } catch (RuntimeException e) {
                    throw new GpioUnavailableException("gpio: cannot open input '" + input.name() + "' on pin " + input.pin()
                            + " with the " + config.provider().wireName() + " provider: " + GpioProvider.describe(e), e);
                }
                Watched w = new Watched(input, pin, level(pin.state()));
                watched.add(w);
                pin.addListener(event -> w.changed());
            }
        } catch (GpioUnavailableException e) {
            scheduler.shutdownNow();
            throw e;
        }
    }

    /** The debounced level of an input: the last one reported (or its level at start). */
    public GpioConfig.Level level(String name) {
        for (Watched w : watched) {
            if (w.input.name().equals(name)) {
                synchronized (w) {
                    return w.reported;
                }
            }
        }
        throw new IllegalArgumentException("no input named " + name);
    }

    @Override
    public void close() {
        closed = true;
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static PullResistance pull(GpioConfig.Pull pull) {
        return switch (pull) {
            case OFF -> PullResistance.OFF;
            case UP -> PullResistance.PULL_UP;
            case DOWN -> PullResistance.PULL_DOWN;
        };
    }

    /** UNKNOWN (a line not read yet) counts as low: an input starts from rest. */
    static GpioConfig.Level level(DigitalState state) {
        return state == DigitalState.HIGH ? GpioConfig.Level.HIGH : GpioConfig.Level.LOW;
    }

    /** The event JSON for an input that has settled at {@code level}. */
    byte[] event(GpioConfig.Input input, GpioConfig.Level level) {
        ObjectNode json = JSON.createObjectNode();
        json.put("pin", input.pin());
        json.put("name", input.name());
        json.put("state", level.wireName());
        json.put("ts", clock.instant().truncatedTo(ChronoUnit.MILLIS).toString());
        try {
            return JSON.writeValueAsBytes(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e); // a tree of numbers and strings always serializes
        }
    }

    /** One input and its debounce state; touched only on the scheduler thread except {@link #changed()}. */
    private final class Watched {
        private final GpioConfig.Input input;
        private final DigitalInput pin;
        private GpioConfig.Level reported;
        private ScheduledFuture<?> pending;

        Watched(GpioConfig.Input input, DigitalInput pin, GpioConfig.Level initial) {
            this.input = input;
            this.pin = pin;
            this.reported = initial;
        }

        /** Pi4J's thread: (re)start the settle timer; the level is read when it fires. */
        synchronized void changed() {
            if (closed) {
                return;
            }
            if (pending != null) {
                pending.cancel(false);
            }
            try {
                pending = scheduler.schedule(this::settle, input.debounce().toNanos(), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing: the change is dropped with the rest
            }
        }

        private void settle() {
            GpioConfig.Level now;
            synchronized (this) {
                pending = null;
                now = level(pin.state());
                if (now == reported) {
                    return; // bounced back before the debounce time: nothing happened
                }
                reported = now;
            }
            if (!input.edge().accepts(now)) {
                return;
            }
            try {
                sink.publish(input.topic(), event(input, now));
                Logger.debug("GPIO input {} (pin {}) went {}", input.name(), input.pin(), now.wireName());
            } catch (RuntimeException e) {
                Logger.warn("GPIO input {}: the event could not be delivered: {}", input.name(), e.toString());
            }
        }
    }
}
