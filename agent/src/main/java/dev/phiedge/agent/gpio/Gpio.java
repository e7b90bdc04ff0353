package dev.phiedge.agent.gpio;

import com.pi4j.context.Context;
import dev.phiedge.agent.config.GpioConfig;
import org.tinylog.Logger;

/**
 * The whole GPIO feature for the daemon: opens the provider, the inputs and the outputs, and closes
 * them in reverse. Wiring: {@code Gpio.start(config, sink)} at start (a {@link GpioUnavailableException}
 * stops the agent with its message), {@link #onResult} after each classification, {@link #close} at
 * shutdown (outputs back to their initial level).
 */
public final class Gpio implements AutoCloseable {

    private final GpioConfig config;
    private final Context context;
    private final GpioActuators actuators;
    private final GpioInputs inputs;

    private Gpio(GpioConfig config, Context context, GpioActuators actuators, GpioInputs inputs) {
        this.config = config;
        this.context = context;
        this.actuators = actuators;
        this.inputs = inputs;
    }

    public static Gpio start(GpioConfig config, GpioEventSink sink) throws GpioUnavailableException {
        return start(config, sink, GpioProvider.open(config));
    }

    /** Starts on a context already opened (by {@link GpioProvider#open}); closes it on failure. */
    static Gpio start(GpioConfig config, GpioEventSink sink, Context context) throws GpioUnavailableException {
        GpioActuators actuators = null;
        try {
            actuators = new GpioActuators(context, config);
            GpioInputs inputs = new GpioInputs(context, config, sink);
            Logger.info("GPIO ready ({} provider): {} input(s), {} output(s), {} rule(s)", config.provider().wireName(),
                    config.inputs().size(), config.outputs().size(), config.rules().size());
            return new Gpio(config, context, actuators, inputs);
        } catch (GpioUnavailableException | RuntimeException e) {
            if (actuators != null) {
                actuators.close();
            }
            shutdown(context);
            throw e;
        }
    }

    /** Applies the rules to one classification result (call it for classify routes only). */
    public void onResult(String route, String label) {
        actuators.onResult(route, label);
    }

    public GpioConfig config() {
        return config;
    }

    /** The Pi4J context, for tests (mock states) and diagnostics. */
    public Context context() {
        return context;
    }

    public GpioActuators actuators() {
        return actuators;
    }

    public GpioInputs inputs() {
        return inputs;
    }

    @Override
    public void close() {
        inputs.close();
        actuators.close();
        shutdown(context);
    }

    private static void shutdown(Context context) {
        try {
            context.shutdown();
        } catch (RuntimeException e) {
            Logger.warn("GPIO: Pi4J shutdown failed: {}", e.toString());
        }
    }
}
