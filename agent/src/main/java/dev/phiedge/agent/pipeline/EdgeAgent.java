package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.gpio.Gpio;
import dev.phiedge.agent.gpio.GpioUnavailableException;
import dev.phiedge.agent.mqtt.InboundMessage;
import dev.phiedge.agent.mqtt.MqttConnection;
import dev.phiedge.agent.mqtt.MqttSetupException;
import dev.phiedge.agent.mqtt.OutboundMessage;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * The daemon assembled: broker connection → intake → queue → inference worker → results, with error
 * reports and stats on the side. Who owns what: Paho's thread runs intake only; the worker thread owns
 * the backend; the outbox thread publishes error reports and GPIO input events; the stats thread
 * publishes stats.
 *
 * <p>GPIO (optional): the pins are opened when the agent is built, so a machine without GPIO refuses to
 * start. An input event goes two ways: straight into the intake, so the routes that subscribe to its
 * topic handle it even while the broker is away; and out through the outbox to the broker, so other
 * subscribers (dashboards, other agents) see it too. The agent's subscriptions use MQTT v5 No Local, so
 * that published copy does not come back and is not handled twice (a shared subscription, {@code $share/…},
 * cannot use No Local: do not put one on a GPIO topic of the same agent). After each classification the
 * worker hands the route and label to the output rules; the pins are closed after the worker stops.
 */
public final class EdgeAgent implements AutoCloseable {

    private static final int OUTBOX_CAPACITY = 1000;

    private final AgentConfig config;
    private final InferenceBackend backend;
    private final AgentStats stats = new AgentStats();
    private final EventQueue queue;
    private final MqttConnection connection;
    private final Outbox outbox;
    private final Intake intake;
    private final InferenceWorker worker;
    private final StatsReporter statsReporter;
    private final Gpio gpio;
    private boolean closed;

    /**
     * Builds the agent and opens its GPIO pins, if configured; nothing runs until {@link #start()}.
     *
     * @throws GpioUnavailableException the {@code gpio} section cannot be served on this machine (the
     *                                  message says why and what to do); nothing is left open
     */
    public EdgeAgent(AgentConfig config, InferenceBackend backend) throws MqttSetupException, GpioUnavailableException {
        this.config = config;
        this.backend = backend;
        this.queue = new EventQueue(config.routes(), (event, reason) -> {
            stats.dropped(reason);
            Logger.debug("Dropped event {} of route {} ({})", event.eventId(), event.route().name(), reason.wireName());
        });
        List<MqttConnection.Subscription> subscriptions = config.routes().stream()
                .map(RouteConfig::subscribe).distinct()
                .map(filter -> new MqttConnection.Subscription(filter, maxQos(config, filter.text())))
                .toList();
        this.connection = new MqttConnection(config.mqtt(), config.agentTopic("status"), subscriptions, this::onMessage);
        this.outbox = new Outbox(connection, OUTBOX_CAPACITY);
        ErrorReporter errors = new ErrorReporter(config.deviceId(), config.agentTopic("errors"), stats, outbox::offer);
        this.intake = new Intake(config, queue, errors, stats);
        ResultPublisher results = new ResultPublisher(config.deviceId(), backend.modelName(), connection);
        this.worker = new InferenceWorker(queue, backend, results, errors, stats, this::onClassified);
        this.statsReporter = new StatsReporter(config.deviceId(), config.agentTopic("stats"), stats, queue,
                outbox::overflow, connection);
        try {
            this.gpio = config.gpio().isPresent() ? Gpio.start(config.gpio().get(), this::onGpioEvent) : null;
        } catch (GpioUnavailableException | RuntimeException e) {
            statsReporter.close();
            connection.close();
            throw e;
        }
    }

    /** Subscribe at the highest QoS any route on that filter asks for; results use each route's own. */
    private static int maxQos(AgentConfig config, String filter) {
        return config.routes().stream().filter(r -> r.subscribe().text().equals(filter))
                .mapToInt(RouteConfig::qos).max().orElse(1);
    }

    private void onMessage(InboundMessage message) {
        intake.accept(message);
    }

    /** The GPIO inputs' thread: one debounced edge, as event JSON for {@code topic}. */
    private void onGpioEvent(String topic, byte[] payload) {
        if (config.routes().stream().anyMatch(r -> r.subscribe().matches(topic))) {
            intake.accept(new InboundMessage(topic, payload, 1, false, Optional.empty(), Optional.empty(),
                    Optional.empty(), System.nanoTime()));
        }
        outbox.offer(OutboundMessage.of(topic, payload, 1, false));
    }

    /** The worker's thread, after each classification: the GPIO output rules (never blocks). */
    private void onClassified(String route, String label) {
        if (gpio != null) {
            gpio.onResult(route, label);
        }
    }

    public void start() {
        long warm = System.nanoTime();
        backend.warmUp(); // before the worker owns the backend, and before the agent goes online
        Logger.info("Model {} warmed up in {} ms", backend.modelName(), (System.nanoTime() - warm) / 1_000_000);
        outbox.start();
        worker.start();
        statsReporter.start(config.statsInterval());
        connection.start();
        Logger.info("Edge agent {} started: {} route(s), model {}", config.deviceId(), config.routes().size(),
                backend.modelName());
    }

    public boolean awaitConnected(Duration timeout) throws InterruptedException {
        return connection.awaitConnected(timeout);
    }

    public boolean isConnected() {
        return connection.isConnected();
    }

    /** Successful connections so far; each reconnect adds one. */
    public int connectCount() {
        return connection.connectCount();
    }

    /** The open GPIO pins, when the configuration has a {@code gpio} section. */
    public Optional<Gpio> gpio() {
        return Optional.ofNullable(gpio);
    }

    public AgentStats.Snapshot stats() {
        return stats.snapshot();
    }

    /** The highest number of events that ever waited at once, and the bound it must stay within. */
    public int queueMaxDepth() {
        return queue.maxDepth();
    }

    public int queueCapacity() {
        return queue.capacity();
    }

    /** Publishes the stats message now rather than at the next interval. */
    public void publishStats() {
        statsReporter.publishNow();
    }

    /**
     * Graceful shutdown: stop intake, finish the event in flight (events still waiting are counted as
     * dropped), close the GPIO pins, publish final stats and {@code offline}, disconnect, release the model.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Logger.info("Shutting down: finishing the event in flight");
        intake.close();
        List<Event> left = queue.close();
        if (!left.isEmpty()) {
            Logger.info("{} waiting event(s) dropped at shutdown", left.size());
        }
        try {
            worker.close();
            if (gpio != null) {
                gpio.close(); // after the last result has driven its outputs; they go back to their initial level
            }
            statsReporter.close();
            statsReporter.publishNow();
            outbox.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        connection.close();
        backend.close();
        Logger.info("Edge agent {} stopped", config.deviceId());
    }
}
