package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.backend.InferenceBackend;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.gpio.Gpio;
import dev.phiedge.agent.gpio.GpioUnavailableException;
import dev.phiedge.agent.mqtt.InboundMessage;
import dev.phiedge.agent.mqtt.MqttConnection;
import dev.phiedge.agent.mqtt.MqttSetupException;
import dev.phiedge.agent.mqtt.OutboundMessage;
import dev.phiedge.agent.frigate.FrigateClient;
import dev.phiedge.agent.homeassistant.HomeAssistantDiscovery;
import dev.phiedge.agent.telemetry.AgentStats;
import dev.phiedge.agent.telemetry.DropReason;
import dev.phiedge.agent.telemetry.StatsReporter;
import dev.phiedge.agent.topic.TopicFilter;
import dev.phiedge.agent.store.MessageStore;
import dev.phiedge.agent.telemetry.MetricsServer;
import java.io.UncheckedIOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * The daemon assembled: broker connection → inbox (journal, then acknowledge) → queue → inference
 * worker → outbox (store, then publish), with error reports and stats on the side. Who owns what:
 * Paho's thread only hands messages to the inbox; the inbox thread renders, journals, queues and
 * acknowledges; the worker thread owns the backend; the outbox thread publishes what the store holds
 * (results, error reports, GPIO input events) and resolves it on the broker's acknowledgement; the
 * stats thread publishes stats. The {@link MessageStore} on disk is what survives a crash: events
 * accepted and not yet answered, and messages not yet delivered, are taken up again at the next start.
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

    /** How long a clean stop waits for the broker to take the outbox's backlog (the rest stays on disk). */
    private static final Duration OUTBOX_GRACE = Duration.ofSeconds(5);

    private final AgentConfig config;
    private final InferenceBackend backend;
    private final AgentStats stats = new AgentStats();
    private final EventQueue queue;
    private final MqttConnection connection;
    private final MessageStore store;
    private final Outbox outbox;
    private final Inbox inbox;
    private final Intake intake;
    private final InferenceWorker worker;
    private final StatsReporter statsReporter;
    private final HomeAssistantDiscovery discovery;
    private final FrigateClient frigate;
    private final MetricsServer metrics;
    /** Discovery publishing and other work that must leave Paho's and the reconnect thread at once. */
    private final ScheduledExecutorService housekeeping = Executors.newSingleThreadScheduledExecutor(r ->
            Thread.ofPlatform().name("housekeeping").daemon(true).unstarted(r));
    private volatile boolean modelReady;
    private final Gpio gpio;
    private boolean closed;

    /**
     * Builds the agent and opens its GPIO pins, if configured; nothing runs until {@link #start()}.
     *
     * @throws GpioUnavailableException the {@code gpio} section cannot be served on this machine (the
     *                                  message says why and what to do); nothing is left open
     * @throws IOException              the store cannot be opened (its folder cannot be written, or another
     *                                  agent uses it)
     */
    public EdgeAgent(AgentConfig config, InferenceBackend backend)
            throws MqttSetupException, GpioUnavailableException, IOException {
        this.config = config;
        this.backend = backend;
        this.queue = new EventQueue(config.routes(), (event, reason) -> {
            if (reason == DropReason.SHUTDOWN) {
                return; // offered as the queue closed: it stays in the journal for the next start
            }
            stats.dropped(reason);
            event.receipt().eventDone();
            Logger.debug("Dropped event {} of route {} ({})", event.eventId(), event.route().name(), reason.wireName());
        });
        this.discovery = new HomeAssistantDiscovery(config, config.homeAssistant(), backend.modelName(),
                EdgeAgent.class.getPackage().getImplementationVersion(), config.store().directory());
        discovery.skipped().forEach(s -> Logger.info("Home Assistant: no entity for route {}: {}", s.route(), s.reason()));
        List<MqttConnection.Subscription> subscriptions = new java.util.ArrayList<>(config.routes().stream()
                .map(RouteConfig::subscribe).distinct()
                .map(filter -> new MqttConnection.Subscription(filter, maxQos(config, filter.text())))
                .toList());
        if (discovery.enabled()) {
            // QoS 0: Home Assistant's birth message needs no acknowledgement, only a republish of the configs.
            subscriptions.add(new MqttConnection.Subscription(TopicFilter.of(discovery.birthTopic()), 0));
        }
        this.connection = new MqttConnection(config.mqtt(), config.deviceId(), config.agentTopic("status"),
                subscriptions, this::onMessage);
        this.store = MessageStore.open(config.store());
        this.outbox = new Outbox(store, connection, stats, config.agentTopic("errors"));
        ErrorReporter errors = new ErrorReporter(config.deviceId(), config.agentTopic("errors"), stats, outbox);
        outbox.reportRefusalsTo(errors);
        connection.onProblems((filter, code) -> {
            stats.subscribeRefused();
            errors.reportDelivery(filter, "subscribe_refused", "the broker refused the subscription to '" + filter
                    + "' (reason code 0x" + Integer.toHexString(code) + ")");
        });
        this.intake = new Intake(config, queue, errors, stats);
        this.inbox = new Inbox(intake, queue, store, stats);
        ResultPublisher results = new ResultPublisher(config.deviceId(), backend.modelName(), outbox);
        boolean writeBack = config.frigate().isPresent() && config.routes().stream().anyMatch(RouteConfig::frigateDescription);
        this.frigate = writeBack ? new FrigateClient(config.frigate().get(), (eventId, reason, detail) -> {
            stats.writebackFailed();
            errors.reportWriteback(eventId, reason, detail);
        }) : null;
        this.worker = new InferenceWorker(queue, backend, results, errors, stats, this::onClassified, this::onSummarized,
                outbox);
        this.statsReporter = new StatsReporter(config.deviceId(), config.agentTopic("stats"), stats, queue::depth,
                queue::maxDepth, queue::capacity, outbox::backlog, connection);
        this.metrics = config.http().map(http -> new MetricsServer(http, stats::snapshot, queue::depth, queue::capacity,
                outbox::backlog, connection::isConnected, () -> modelReady, config.deviceId(), backend.modelName()))
                .orElse(null);
        connection.onConnected(() -> housekeeping.execute(this::publishDiscovery));
        try {
            this.gpio = config.gpio().isPresent() ? Gpio.start(config.gpio().get(), this::onGpioEvent) : null;
        } catch (GpioUnavailableException | RuntimeException e) {
            statsReporter.close();
            connection.close();
            store.close();
            if (frigate != null) {
                frigate.close();
            }
            throw e;
        }
    }

    /** Subscribe at the highest QoS any route on that filter asks for; results use each route's own. */
    private static int maxQos(AgentConfig config, String filter) {
        return config.routes().stream().filter(r -> r.subscribe().text().equals(filter))
                .mapToInt(RouteConfig::qos).max().orElse(1);
    }

    private void onMessage(InboundMessage message) {
        if (discovery.isBirth(message.topic(), message.payload())) {
            // Home Assistant (re)started: republish the configs, after a short random delay as its docs advise,
            // so that a fleet of agents does not answer all at once.
            housekeeping.schedule(this::publishDiscovery, java.util.concurrent.ThreadLocalRandom.current().nextLong(5_000),
                    java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        if (config.routes().stream().anyMatch(r -> r.subscribe().matches(message.topic()))) {
            inbox.offer(message);
        }
    }

    /**
     * The housekeeping thread: the Home Assistant discovery configs, published retained straight on the
     * connection (not through the outbox: after an outage only the latest configs matter), and the removals
     * of entities whose routes are gone; then the stats, so that the diagnostic sensors fill in at once.
     */
    private void publishDiscovery() {
        HomeAssistantDiscovery.Publication publication = discovery.publication();
        if (publication.messages().isEmpty()) {
            return;
        }
        for (OutboundMessage message : publication.messages()) {
            connection.publish(message, new MqttConnection.Delivery() {
                @Override
                public void delivered() {
                    if (message.payload().length == 0) {
                        discovery.removalDelivered(message.topic());
                    }
                }

                @Override
                public void refused(int reasonCode, String reason) {
                    Logger.warn("Home Assistant discovery: the broker refused '{}': {}", message.topic(), reason);
                }

                @Override
                public void failed(String reason) {
                    Logger.debug("Home Assistant discovery: '{}' not sent ({}); sent again after the next connect",
                            message.topic(), reason);
                }
            });
        }
        try {
            discovery.recordPublished(publication);
        } catch (IOException e) {
            Logger.warn("Home Assistant discovery: cannot record what was published: {}", e.getMessage());
        }
        statsReporter.publishNow();
    }

    /** The worker's thread, after each summary is durably queued: the Frigate write-back (never blocks). */
    private void onSummarized(Event event, String text) {
        if (frigate != null && event.route().frigateDescription()) {
            // Frigate's events carry no top-level id, so the event id is after.id, the id Frigate knows.
            frigate.submit(event.eventId(), text);
        }
    }

    /** The GPIO inputs' thread: one debounced edge, as event JSON for {@code topic}. */
    private void onGpioEvent(String topic, byte[] payload) {
        if (config.routes().stream().anyMatch(r -> r.subscribe().matches(topic))) {
            inbox.offer(new InboundMessage(topic, payload, 1, false, Optional.empty(), Optional.empty(),
                    Optional.empty(), System.nanoTime()));
        }
        try {
            outbox.publish(OutboundMessage.of(topic, payload, 1, false));
        } catch (RuntimeException e) {
            Logger.error(e, "Queueing the GPIO event on '{}' failed", topic);
        }
    }

    /** The worker's thread, after each classification: the GPIO output rules (never blocks). */
    private void onClassified(String route, String label) {
        if (gpio != null) {
            gpio.onResult(route, label);
        }
    }

    /**
     * Warms the model up, then starts every thread and connects.
     *
     * @throws UncheckedIOException the metrics server cannot listen where the configuration says
     */
    public void start() {
        if (metrics != null) {
            try {
                metrics.start(); // first: /healthz answers 503 "model not loaded" during the warm-up
            } catch (IOException e) {
                throw new UncheckedIOException("the metrics server cannot listen on " + config.http().get().listen()
                        + ": " + e.getMessage(), e);
            }
        }
        long warm = System.nanoTime();
        backend.warmUp(); // before the worker owns the backend, and before the agent goes online
        modelReady = true;
        Logger.info("Model {} warmed up in {} ms", backend.modelName(), (System.nanoTime() - warm) / 1_000_000);
        outbox.start();
        worker.start();
        inbox.start(); // takes up the journal's unanswered events first
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

    /** The port /metrics and /healthz listen on, once started, when the configuration has an {@code http} section. */
    public Optional<Integer> metricsPort() {
        return Optional.ofNullable(metrics).map(MetricsServer::port);
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
     * Graceful shutdown (SIGTERM): stop taking messages, finish the event in flight, keep the events still
     * waiting in the journal for the next start, give the broker a few seconds to take the outbox's
     * backlog (the rest stays on disk), close the GPIO pins, publish final stats and {@code offline},
     * disconnect, release the model.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Logger.info("Shutting down: finishing the event in flight");
        if (metrics != null) {
            metrics.close();
        }
        intake.close();
        inbox.stopTaking();
        List<Event> left = queue.close();
        if (!left.isEmpty()) {
            Logger.info("{} waiting event(s) kept in the journal for the next start", left.size());
        }
        try {
            inbox.close();
            worker.close();
            if (frigate != null) {
                frigate.close(Duration.ofSeconds(5)); // after the last summary, before the outbox takes its reports
            }
            if (gpio != null) {
                gpio.close(); // after the last result has driven its outputs; they go back to their initial level
            }
            statsReporter.close();
            outbox.close(OUTBOX_GRACE);
            statsReporter.publishNow();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            store.sync();
        } catch (RuntimeException e) {
            Logger.error(e, "The store could not be synced at shutdown");
        }
        store.close();
        housekeeping.shutdownNow();
        connection.close();
        modelReady = false;
        backend.close();
        Logger.info("Edge agent {} stopped", config.deviceId());
    }
}
