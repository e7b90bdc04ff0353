package dev.phiedge.agent.mqtt;

import dev.phiedge.agent.config.MqttConfig;
import dev.phiedge.agent.tls.PemTls;
import dev.phiedge.agent.topic.TopicFilter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.tinylog.Logger;

/**
 * The agent's only contact with Paho (MQTT v5). It owns the session rules the daemon depends on:
 * <ul>
 *   <li>a persistent session (clean start off, session expiry set), so QoS 1 events published while the
 *       agent was away are delivered when it returns;</li>
 *   <li>its own reconnect loop with capped exponential backoff, which resubscribes every route after each
 *       connect (Paho's automatic reconnect does not resubscribe, and a broker that lost its state would
 *       leave the agent deaf);</li>
 *   <li>a retained {@code online} on the status topic after each connect, and a Last Will that sets
 *       {@code offline} if the device vanishes;</li>
 *   <li>{@code messageArrived} only copies the message and hands it to the listener, which must not block
 *       (Paho reads the socket on that thread, and a callback that waits on Paho can deadlock it);</li>
 *   <li>manual acknowledgements: a QoS 1 event is acknowledged only when the agent calls
 *       {@link InboundMessage#acknowledge()} (once it is journaled), and the MQTT v5 Receive Maximum caps
 *       how many unacknowledged events the broker sends, so a full queue holds the rest at the broker;
 *       routes subscribe at QoS 1 at most (Paho acknowledges a QoS 2 PUBLISH with PUBREC on arrival,
 *       before the agent could journal it, so QoS 2 events are taken as QoS 1: at least once);</li>
 *   <li>every message it publishes carries the user property {@link #AGENT_PROPERTY}, and messages that
 *       carry it are flagged {@link InboundMessage#fromAgent()}, so agents never answer each other.</li>
 * </ul>
 */
public final class MqttConnection implements MessageSink, AutoCloseable {

    /** A filter to subscribe to after every connect. */
    public record Subscription(TopicFilter filter, int qos) {}

    /** The MQTT v5 user property on every message an edge agent publishes; its value is the device id. */
    public static final String AGENT_PROPERTY = "phi-edge-agent";

    /** How one publish of {@link #publish(OutboundMessage, Delivery)} ended. */
    public interface Delivery {
        /** The broker has it (PUBACK success for QoS 1; written to the socket for QoS 0). */
        void delivered();

        /** The broker refused it for good (a PUBACK reason code of 0x80 or more, such as 0x87 not authorized). */
        void refused(int reasonCode, String reason);

        /** Not delivered this time (not connected, connection lost, too many in flight): try again later. */
        void failed(String reason);
    }

    /** Told of what the broker refuses outside a publish: a subscription (SUBACK reason code 0x80 or more). */
    public interface Problems {
        void subscriptionRefused(String filter, int reasonCode);
    }

    private static final long OPERATION_TIMEOUT_MS = 10_000;

    private final MqttConfig config;
    private final String statusTopic;
    private final List<Subscription> subscriptions;
    private final Consumer<InboundMessage> listener;
    /** The Paho client of the current connection: a new one for every connect attempt (see attempt()). */
    private volatile MqttAsyncClient client;
    private boolean clientUsed;
    private final MqttConnectionOptions options;
    private final ReconnectBackoff backoff;
    private final ScheduledExecutorService reconnector;
    private final AtomicBoolean attemptScheduled = new AtomicBoolean();
    private final AtomicReference<CountDownLatch> connectedLatch = new AtomicReference<>(new CountDownLatch(1));
    private final AtomicInteger connects = new AtomicInteger();
    private final AtomicLong publishFailures = new AtomicLong();
    /** Which connection a message came on: acknowledgements of an earlier connection are not sent. */
    private final AtomicInteger generation = new AtomicInteger();
    private final List<UserProperty> mark;
    private volatile Problems problems = (filter, code) -> { };
    private volatile Runnable onConnected = () -> { };
    private volatile boolean closed;

    public MqttConnection(MqttConfig config, String deviceId, String statusTopic, List<Subscription> subscriptions,
                          Consumer<InboundMessage> listener) throws MqttSetupException {
        this.config = config;
        this.statusTopic = statusTopic;
        this.subscriptions = List.copyOf(subscriptions);
        this.listener = listener;
        this.backoff = new ReconnectBackoff(config.reconnectInitial(), config.reconnectMax());
        this.mark = List.of(new UserProperty(AGENT_PROPERTY, deviceId));
        this.options = options(config, statusTopic, mark);
        try {
            this.client = newClient();
        } catch (MqttException e) {
            throw new MqttSetupException("cannot create an MQTT client for " + config.url() + ": " + e.getMessage(), e);
        }
        this.reconnector = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mqtt-reconnect");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * A fresh Paho client. In-memory persistence (Paho's default writes files into the working directory);
     * no disconnected buffer (what must survive an outage waits in the agent's disk outbox); manual
     * acknowledgements.
     */
    private MqttAsyncClient newClient() throws MqttException {
        MqttAsyncClient c = new MqttAsyncClient(config.url(), config.clientId(), new MemoryPersistence());
        c.setManualAcks(true);
        c.setCallback(new Callback(c));
        return c;
    }

    /** Lets go of a client whose connection is gone; it must not send anything more. */
    private static void retire(MqttAsyncClient old) {
        try {
            old.disconnectForcibly(0, 0, false);
        } catch (MqttException | RuntimeException ignored) {
            // already disconnected
        }
        try {
            old.close(true);
        } catch (MqttException | RuntimeException ignored) {
            // nothing left to release
        }
    }

    private static MqttConnectionOptions options(MqttConfig config, String statusTopic, List<UserProperty> mark)
            throws MqttSetupException {
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(false);
        o.setReceiveMaximum(config.receiveMaximum());
        o.setSessionExpiryInterval(config.sessionExpirySeconds());
        o.setKeepAliveInterval(config.keepaliveSeconds());
        o.setConnectionTimeout((int) (OPERATION_TIMEOUT_MS / 1000));
        o.setAutomaticReconnect(false);
        o.setWill(statusTopic, new MqttMessage("offline".getBytes(StandardCharsets.UTF_8), 1, true, marked(mark)));
        config.username().ifPresent(o::setUserName);
        if (config.passwordFile().isPresent()) {
            try {
                String password = Files.readString(config.passwordFile().get()).strip();
                o.setPassword(password.getBytes(StandardCharsets.UTF_8));
            } catch (java.io.IOException e) {
                throw new MqttSetupException("cannot read the password file " + config.passwordFile().get()
                        + ": " + e.getClass().getSimpleName(), e);
            }
        }
        if (config.tls().isPresent()) {
            try {
                o.setSocketFactory(PemTls.socketFactory(config.tls().get()));
            } catch (java.io.IOException | java.security.GeneralSecurityException e) {
                throw new MqttSetupException("cannot set up TLS: " + e.getMessage(), e);
            }
        }
        return o;
    }

    /** Starts connecting in the background; a broker that is down at boot is retried, never fatal. */
    public void start() {
        scheduleAttempt(Duration.ZERO);
    }

    public boolean isConnected() {
        return client.isConnected();
    }

    /** Waits until connected (and subscribed) or the time is up. */
    public boolean awaitConnected(Duration timeout) throws InterruptedException {
        return isConnected() || connectedLatch.get().await(timeout.toMillis(), TimeUnit.MILLISECONDS) && isConnected();
    }

    /** How many times a connection was made and the routes subscribed; it grows with each reconnect. */
    public int connectCount() {
        return connects.get();
    }

    /** Fire-and-forget publishes (stats, status) that failed. */
    public long publishFailures() {
        return publishFailures.get();
    }

    public void onProblems(Problems problems) {
        this.problems = problems;
    }

    /**
     * Run after each connect, once the routes are subscribed and {@code online} is sent (on the reconnect
     * thread: hand longer work to another thread).
     */
    public void onConnected(Runnable hook) {
        this.onConnected = hook;
    }

    private static MqttProperties marked(List<UserProperty> mark) {
        MqttProperties properties = new MqttProperties();
        properties.setUserProperties(mark);
        return properties;
    }

    private void scheduleAttempt(Duration delay) {
        if (closed || !attemptScheduled.compareAndSet(false, true)) {
            return;
        }
        try {
            reconnector.schedule(this::attempt, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            attemptScheduled.set(false); // closing
        }
    }

    private void attempt() {
        attemptScheduled.set(false);
        if (closed || client.isConnected()) {
            return;
        }
        try {
            // A new Paho client for every attempt after the first. Paho 1.2.5 keeps the old connection's
            // in-flight publishes and sends them again on reconnect with the topic alias of the old
            // connection, which the broker refuses as a protocol error, on every attempt, forever
            // (eclipse-paho/paho.mqtt.java#1104). The broker keeps the session (clean start off), and
            // what was in flight is sent again by the agent's outbox.
            if (clientUsed) {
                retire(client);
                client = newClient();
            }
            clientUsed = true;
            generation.incrementAndGet(); // before CONNACK: queued events may arrive at once
            IMqttToken connect = client.connect(options);
            connect.waitForCompletion(OPERATION_TIMEOUT_MS);
            subscribeAll();
            client.publish(statusTopic, new MqttMessage("online".getBytes(StandardCharsets.UTF_8), 1, true, marked(mark)));
            backoff.reset();
            connects.incrementAndGet();
            Logger.info("Connected to {} as {} (session present: {}); subscribed {} route filter(s)",
                    config.url(), config.clientId(), connect.getSessionPresent(), subscriptions.size());
            connectedLatch.get().countDown();
            try {
                onConnected.run();
            } catch (RuntimeException e) {
                Logger.error(e, "After connecting");
            }
        } catch (MqttException e) {
            if (closed) {
                return; // close() interrupted this attempt: nothing to report or retry
            }
            Duration delay = backoff.nextDelay();
            Logger.warn("MQTT connection to {} failed: {}; retrying in {} ms", config.url(), describe(e), delay.toMillis());
            if (client.isConnected()) {
                try {
                    client.disconnect(OPERATION_TIMEOUT_MS); // half set up (e.g. subscribe refused): start over
                } catch (MqttException ignored) {
                    // the next attempt finds it disconnected either way
                }
            }
            scheduleAttempt(delay);
        }
    }

    private void subscribeAll() throws MqttException {
        MqttSubscription[] subs = new MqttSubscription[subscriptions.size()];
        for (int i = 0; i < subs.length; i++) {
            Subscription s = subscriptions.get(i);
            MqttSubscription sub = new MqttSubscription(s.filter().text(), Math.min(1, s.qos()));
            // Never consume our own results (a route's filter may match its publish topic); the broker
            // refuses No Local on shared subscriptions, so those are left as they are.
            sub.setNoLocal(!s.filter().isShared());
            // Retained messages only when the subscription is new, so resubscribing replays nothing.
            sub.setRetainHandling(1);
            subs[i] = sub;
        }
        if (subs.length == 0) {
            return;
        }
        IMqttToken token = client.subscribe(subs);
        token.waitForCompletion(OPERATION_TIMEOUT_MS);
        int[] codes = token.getReasonCodes();
        for (int i = 0; codes != null && i < codes.length && i < subs.length; i++) {
            if (codes[i] >= 0x80) {
                Logger.error("The broker refused the subscription to '{}' (reason code 0x{})", subs[i].getTopic(),
                        Integer.toHexString(codes[i]));
                problems.subscriptionRefused(subs[i].getTopic(), codes[i]);
            }
        }
    }

    /**
     * Publishes without waiting, for messages nobody needs to see delivered (stats): when the broker is
     * away or the publish fails, it is counted and dropped. Never called on Paho's thread.
     */
    @Override
    public void publish(OutboundMessage message) {
        if (closed && !message.topic().equals(statusTopic)) {
            return;
        }
        try {
            client.publish(message.topic(), toPaho(message));
        } catch (MqttException e) {
            publishFailures.incrementAndGet();
            Logger.debug("Publish to '{}' failed: {}", message.topic(), describe(e));
        }
    }

    /**
     * Publishes and tells {@code delivery} how it ended, exactly once, on Paho's callback thread or
     * the caller's; {@code delivery} must not block or publish. Never called on Paho's thread.
     */
    public void publish(OutboundMessage message, Delivery delivery) {
        if (!client.isConnected()) {
            delivery.failed("not connected");
            return;
        }
        try {
            client.publish(message.topic(), toPaho(message), null, new MqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    int code = firstReasonCode(token);
                    if (code >= 0x80) {
                        delivery.refused(code, reasonText(token, code));
                    } else {
                        delivery.delivered();
                    }
                }

                @Override
                public void onFailure(IMqttToken token, Throwable exception) {
                    int code = firstReasonCode(token);
                    if (code >= 0x80) {
                        delivery.refused(code, reasonText(token, code));
                    } else if (exception instanceof MqttException e && e.getReasonCode() >= 0x80 && e.getReasonCode() <= 0xFF) {
                        delivery.refused(e.getReasonCode(), describe(e));
                    } else {
                        delivery.failed(exception instanceof MqttException e ? describe(e) : String.valueOf(exception));
                    }
                }
            });
        } catch (MqttException e) {
            // REASON_CODE_MAX_INFLIGHT (the broker's Receive Maximum is reached), not connected, closing.
            delivery.failed(describe(e));
        }
    }

    private static int firstReasonCode(IMqttToken token) {
        int[] codes = token == null ? null : token.getReasonCodes();
        return codes == null || codes.length == 0 ? 0 : codes[0];
    }

    private static String reasonText(IMqttToken token, int code) {
        String reason = null;
        try {
            MqttProperties p = token.getResponseProperties();
            reason = p == null ? null : p.getReasonString();
        } catch (RuntimeException ignored) {
            // no response properties
        }
        return "reason code 0x" + Integer.toHexString(code) + (reason != null ? " (" + reason + ")" : "");
    }

    private MqttMessage toPaho(OutboundMessage message) {
        MqttProperties properties = marked(mark);
        message.correlationData().ifPresent(properties::setCorrelationData);
        return new MqttMessage(message.payload(), message.qos(), message.retain(), properties);
    }

    /** Publishes {@code offline} (retained), then disconnects cleanly so the broker does not fire the Will. */
    @Override
    public void close() {
        closed = true;
        reconnector.shutdownNow();
        try {
            if (client.isConnected()) {
                client.publish(statusTopic, new MqttMessage("offline".getBytes(StandardCharsets.UTF_8), 1, true, marked(mark)))
                        .waitForCompletion(OPERATION_TIMEOUT_MS);
                client.disconnect(OPERATION_TIMEOUT_MS).waitForCompletion(OPERATION_TIMEOUT_MS);
            }
        } catch (MqttException e) {
            Logger.warn("Clean disconnect failed ({}); the broker will publish the Last Will instead", describe(e));
        } finally {
            try {
                client.close(true);
            } catch (MqttException e) {
                Logger.debug("Closing the MQTT client: {}", describe(e));
            }
        }
    }

    private static String describe(MqttException e) {
        String message = e.getMessage();
        Throwable cause = e.getCause();
        if (cause instanceof javax.net.ssl.SSLException tls) {
            // Paho's own text for these is "Untranslated MqttException - RC: 0": say what the TLS layer said.
            String detail = Optional.ofNullable(tls.getMessage()).orElse(tls.getClass().getSimpleName());
            String hint = detail.contains("PKIX path") ? " (the broker's certificate is not signed by a CA in mqtt.tls.ca)"
                    : detail.contains("certificate_required") ? " (the broker requires a client certificate: mqtt.tls.cert and key)"
                    : "";
            return "TLS handshake failed: " + detail + hint;
        }
        return (message == null ? "error" : message) + " (code " + e.getReasonCode() + ")"
                + (cause != null ? ": " + cause.getClass().getSimpleName() + " " + Optional.ofNullable(cause.getMessage()).orElse("") : "");
    }

    /**
     * The PUBACK of one QoS 1 message, to be sent once the agent has journaled it: only on the connection
     * the message came on (a new connection gets the message again, with DUP set, and acknowledges that).
     */
    private Runnable acknowledgement(MqttAsyncClient owner, int messageId, int qos, int connection) {
        if (qos == 0) {
            return () -> { };
        }
        return () -> {
            if (closed || generation.get() != connection || owner != client || !owner.isConnected()) {
                return;
            }
            try {
                owner.messageArrivedComplete(messageId, Math.min(qos, 1));
            } catch (MqttException e) {
                Logger.debug("Acknowledging message {} failed: {}", messageId, describe(e));
            }
        };
    }

    /** Which connection is current: it changes on every connect attempt and every disconnect. */
    public int generation() {
        return generation.get();
    }

    /** Paho's callbacks of one client; a retired client's are ignored. */
    private final class Callback implements MqttCallback {
        private final MqttAsyncClient owner;

        Callback(MqttAsyncClient owner) {
            this.owner = owner;
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            if (owner != client) {
                return; // a retired connection's late delivery: the broker sends it again on the current one
            }
            long now = System.nanoTime();
            try {
                MqttProperties p = message.getProperties();
                boolean fromAgent = p != null && p.getUserProperties() != null
                        && p.getUserProperties().stream().anyMatch(u -> AGENT_PROPERTY.equals(u.getKey()));
                InboundMessage inbound = new InboundMessage(topic, message.getPayload(), message.getQos(), message.isRetained(),
                        Optional.ofNullable(p == null ? null : p.getResponseTopic()),
                        Optional.ofNullable(p == null ? null : p.getCorrelationData()),
                        Optional.ofNullable(p == null ? null : p.getMessageExpiryInterval()),
                        now, message.isDuplicate(), fromAgent,
                        acknowledgement(owner, message.getId(), message.getQos(), generation.get()));
                listener.accept(inbound);
            } catch (RuntimeException e) {
                // An exception thrown back to Paho would drop the connection; one bad event must not.
                Logger.error(e, "Intake failed for a message on '{}'", topic);
            }
        }

        @Override
        public void disconnected(MqttDisconnectResponse response) {
            if (closed || owner != client) {
                return;
            }
            connectedLatch.set(new CountDownLatch(1));
            generation.incrementAndGet(); // acknowledgements still owed on that connection are not sent
            Duration delay = backoff.nextDelay();
            Logger.warn("Disconnected from {}: {}; reconnecting in {} ms", config.url(),
                    response.getReasonString() != null ? response.getReasonString() : String.valueOf(response.getException()),
                    delay.toMillis());
            scheduleAttempt(delay);
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
            Logger.warn("MQTT error: {}", describe(exception));
        }

        @Override
        public void deliveryComplete(IMqttToken token) {
            // Nothing to do: QoS 1 delivery is Paho's concern; failures surface through publish().
        }

        @Override
        public void connectComplete(boolean reconnect, String serverUri) {
            // Subscriptions and the online status are handled in attempt(), in order.
        }

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {
            // Enhanced authentication is not used.
        }
    }
}
