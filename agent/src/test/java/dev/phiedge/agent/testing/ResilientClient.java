package dev.phiedge.agent.testing;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/**
 * A test's own MQTT v5 client that is back within a quarter of a second of the broker: a persistent
 * session (clean start off, ten minutes of session expiry, so the broker queues what arrives while it
 * is away), its own reconnect loop every 250 ms (Paho's automatic reconnect backs off to many seconds),
 * and its subscriptions made again after every reconnect, in case the broker lost the session (a broker
 * killed before it saved it). Publishing waits for the connection and for the PUBACK.
 */
public final class ResilientClient implements AutoCloseable {

    /** Receives every message; runs on Paho's thread, so it must not block. */
    @FunctionalInterface
    public interface Listener {
        void message(String topic, MqttMessage message);
    }

    private static final long RETRY_MS = 250;

    private final MqttAsyncClient client;
    private final MqttConnectionOptions options;
    private final Listener listener;
    private final List<MqttSubscription> subscriptions = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService reconnector;
    private final Object connection = new Object();
    private volatile boolean closed;
    private boolean attemptPending;

    public ResilientClient(String url, String clientId, Listener listener) throws MqttException {
        this.client = new MqttAsyncClient(url, clientId, new MemoryPersistence());
        this.listener = listener;
        this.options = new MqttConnectionOptions();
        options.setCleanStart(false);
        options.setSessionExpiryInterval(600L);
        options.setAutomaticReconnect(false);
        options.setKeepAliveInterval(5);
        options.setConnectionTimeout(5);
        this.reconnector = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "reconnect-" + clientId);
            t.setDaemon(true);
            return t;
        });
        client.setCallback(new MqttCallback() {
            @Override
            public void disconnected(MqttDisconnectResponse response) {
                scheduleReconnect();
            }

            @Override
            public void mqttErrorOccurred(MqttException exception) {}

            @Override
            public void messageArrived(String topic, MqttMessage message) {
                ResilientClient.this.listener.message(topic, message);
            }

            @Override
            public void deliveryComplete(IMqttToken token) {}

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {}

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {}
        });
        client.connect(options).waitForCompletion(10_000);
    }

    private void scheduleReconnect() {
        synchronized (connection) {
            if (closed || attemptPending) {
                return;
            }
            attemptPending = true;
        }
        reconnector.schedule(this::reconnect, RETRY_MS, TimeUnit.MILLISECONDS);
    }

    private void reconnect() {
        synchronized (connection) {
            attemptPending = false;
        }
        if (closed || client.isConnected()) {
            return;
        }
        try {
            client.connect(options).waitForCompletion(6_000);
            if (!subscriptions.isEmpty()) {
                client.subscribe(subscriptions.toArray(MqttSubscription[]::new)).waitForCompletion(6_000);
            }
            synchronized (connection) {
                connection.notifyAll();
            }
        } catch (MqttException e) {
            scheduleReconnect();
        }
    }

    /** Subscribes at QoS 1 now and after every reconnect. */
    public void subscribe(String filter) throws MqttException {
        MqttSubscription subscription = new MqttSubscription(filter, 1);
        subscriptions.add(subscription);
        client.subscribe(new MqttSubscription[] {subscription}).waitForCompletion(10_000);
    }

    public boolean isConnected() {
        return client.isConnected();
    }

    /** Waits until connected; false when the time is up first. */
    public boolean awaitConnected(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (connection) {
            while (!client.isConnected()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                connection.wait(Math.max(1, Math.min(50, TimeUnit.NANOSECONDS.toMillis(left))));
            }
        }
        return true;
    }

    /**
     * Publishes once connected (waiting up to 60 s for that) and waits for the acknowledgement.
     *
     * @return the PUBACK's reason code (0 for QoS 0)
     */
    public int publish(String topic, byte[] payload, int qos, boolean retained) throws MqttException, InterruptedException {
        if (!awaitConnected(Duration.ofSeconds(60))) {
            throw new MqttException(32104); // not connected
        }
        IMqttToken token;
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                token = client.publish(topic, new MqttMessage(payload, qos, retained, null));
                break;
            } catch (MqttException e) {
                // Paho 1.2.5 now and then counts a completed publish as still in flight for a moment after
                // its token completed ("Too many publishes in progress"): wait and send again.
                if (e.getReasonCode() != org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_MAX_INFLIGHT || System.nanoTime() > giveUp) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
        token.waitForCompletion(60_000);
        int[] codes = token.getReasonCodes();
        return codes == null || codes.length == 0 ? 0 : codes[0];
    }

    @Override
    public void close() {
        closed = true;
        reconnector.shutdownNow();
        try {
            if (client.isConnected()) {
                client.disconnect(1000).waitForCompletion(2000);
            }
        } catch (MqttException ignored) {
            // closing anyway
        }
        try {
            client.close(true);
        } catch (MqttException ignored) {
            // closing anyway
        }
    }
}
