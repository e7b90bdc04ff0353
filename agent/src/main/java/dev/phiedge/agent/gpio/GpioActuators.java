package dev.phiedge.agent.gpio;

import com.pi4j.context.Context;
import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import dev.phiedge.agent.config.GpioConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The configured digital outputs and the rules that drive them: when a route answers a rule's label,
 * the rule's output goes to the rule's state; with {@code for_s} it returns to its initial level after
 * that long, and a new match while it is held restarts the time (an alarm LED stays on while readings
 * stay critical). Outputs start at, and are put back to, their initial level on close.
 *
 * <p>{@link #onResult} is cheap and never blocks on the timers: the daemon calls it from its inference
 * worker after each classification. Reverts run on this class's one scheduler thread.
 */
public final class GpioActuators implements AutoCloseable {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "gpio-outputs");
        thread.setDaemon(true);
        return thread;
    });
    private final Map<String, Driven> outputs = new LinkedHashMap<>();
    private final List<GpioConfig.Rule> rules;
    private boolean closed;

    /** Creates every configured output on the context, at its initial level. */
    public GpioActuators(Context context, GpioConfig config) throws GpioUnavailableException {
        this.rules = config.rules();
        String providerId = GpioProvider.outputProviderId(config.provider());
        for (GpioConfig.Output output : config.outputs()) {
            DigitalState initial = state(output.initial());
            try {
                DigitalOutput pin = context.create(DigitalOutput.newConfigBuilder(context)
                        .id(output.name()).name(output.name()).address(output.pin())
                        .initial(initial).shutdown(initial).provider(providerId));
                pin.state(initial);
                outputs.put(output.name(), new Driven(output, pin));
            } catch (RuntimeException e) {
                scheduler.shutdownNow();
                throw new GpioUnavailableException("gpio: cannot open output '" + output.name() + "' on pin " + output.pin()
                        + " with the " + config.provider().wireName() + " provider: " + GpioProvider.describe(e), e);
            }
        }
    }

    /** Applies every rule that matches a classification result of {@code route}. */
    public synchronized void onResult(String route, String label) {
        if (closed) {
            return;
        }
        for (GpioConfig.Rule rule : rules) {
            if (rule.route().equals(route) && rule.label().equals(label)) {
                Driven out = outputs.get(rule.output());
                if (out != null) {
                    out.drive(rule.state(), rule.hold().orElse(null), route + " " + label);
                }
            }
        }
    }

    /** The level an output was last driven to. */
    public synchronized GpioConfig.Level level(String output) {
        Driven out = outputs.get(output);
        if (out == null) {
            throw new IllegalArgumentException("no output named " + output);
        }
        return out.level;
    }

    /** Cancels pending reverts and puts every output back to its initial level. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            for (Driven out : outputs.values()) {
                out.cancel();
                out.set(out.output.initial());
            }
        }
        scheduler.shutdownNow();
    }

    static DigitalState state(GpioConfig.Level level) {
        return level == GpioConfig.Level.HIGH ? DigitalState.HIGH : DigitalState.LOW;
    }

    /** One output, its last level and its pending revert; guarded by the enclosing instance. */
    private final class Driven {
        private final GpioConfig.Output output;
        private final DigitalOutput pin;
        private GpioConfig.Level level;
        private ScheduledFuture<?> revert;

        Driven(GpioConfig.Output output, DigitalOutput pin) {
            this.output = output;
            this.pin = pin;
            this.level = output.initial();
        }

        void drive(GpioConfig.Level to, Duration hold, String why) {
            cancel();
            if (level != to) {
                Logger.info("GPIO output {} (pin {}) -> {} ({})", output.name(), output.pin(), to.wireName(), why);
            }
            set(to);
            if (hold != null) {
                try {
                    revert = scheduler.schedule(this::revert, hold.toNanos(), TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException e) {
                    // closing: close() puts the output back itself
                }
            }
        }

        private void revert() {
            synchronized (GpioActuators.this) {
                if (closed) {
                    return;
                }
                revert = null;
                if (level != output.initial()) {
                    Logger.info("GPIO output {} (pin {}) -> {} (hold time over)", output.name(), output.pin(),
                            output.initial().wireName());
                }
                set(output.initial());
            }
        }

        void cancel() {
            if (revert != null) {
                revert.cancel(false);
                revert = null;
            }
        }

        void set(GpioConfig.Level to) {
            try {
                pin.state(state(to));
                level = to;
            } catch (RuntimeException e) {
                Logger.error("GPIO output {} (pin {}) could not be set {}: {}", output.name(), output.pin(),
                        to.wireName(), e.toString());
            }
        }
    }
}
