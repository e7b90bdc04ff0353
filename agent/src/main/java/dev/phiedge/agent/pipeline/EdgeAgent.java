package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.mqtt.MqttConnection;
import dev.phiedge.agent.mqtt.MqttSetupException;
import java.time.Duration;
import java.util.List;
import org.tinylog.Logger;

/**
 * The daemon assembled: broker connection → intake → queue → inference worker → results, with error
 * reports and stats on the side. Who owns what: Paho's thread runs intake only; the worker thread owns
 * the backend; the outbox thread publishes error reports; the stats thread publishes stats.
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
    private boolean closed;

    public EdgeAgent(AgentConfig config, InferenceBackend backend) throws MqttSetupException {
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
        this.worker = new InferenceWorker(queue, backend, results, errors, stats);
        this.statsReporter = new StatsReporter(config.deviceId(), config.agentTopic("stats"), stats, queue,
                outbox::overflow, connection);
    }

    /** Subscribe at the highest QoS any route on that filter asks for; results use each route's own. */
    private static int maxQos(AgentConfig config, String filter) {
        return config.routes().stream().filter(r -> r.subscribe().text().equals(filter))
                .mapToInt(RouteConfig::qos).max().orElse(1);
    }

    private void onMessage(dev.phiedge.agent.mqtt.InboundMessage message) {
        intake.accept(message);
    }

    public void start() {
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
     * dropped), publish final stats and {@code offline}, disconnect, release the model.
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
