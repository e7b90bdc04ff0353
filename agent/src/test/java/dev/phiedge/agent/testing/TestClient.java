package dev.phiedge.agent.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/** The test's side of the broker: publishes events and collects what the agent publishes. */
public final class TestClient implements AutoCloseable {

    /** A message the test received. */
    public record Received(String topic, byte[] payload, boolean retained, MqttProperties properties) {
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    private final MqttClient client;
    private final LinkedBlockingQueue<Received> inbox = new LinkedBlockingQueue<>();
    private final List<Received> seen = new ArrayList<>();

    /** A client with a persistent session, so it misses nothing across a broker restart. */
    public TestClient(String url, String clientId) throws MqttException {
        this(url, clientId, options -> { });
    }

    /** The same, with the connection options adjusted first (a TLS socket factory, a login). */
    public TestClient(String url, String clientId, java.util.function.Consumer<MqttConnectionOptions> adjust)
            throws MqttException {
        client = new MqttClient(url, clientId, new MemoryPersistence());
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(false);
        options.setSessionExpiryInterval(600L);
        options.setAutomaticReconnect(true);
        options.setAutomaticReconnectDelay(1, 2);
        adjust.accept(options);
        client.setCallback(new org.eclipse.paho.mqttv5.client.MqttCallback() {
            @Override
            public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse r) {}

            @Override
            public void mqttErrorOccurred(MqttException e) {}

            @Override
            public void messageArrived(String topic, MqttMessage m) {
                inbox.add(new Received(topic, m.getPayload(), m.isRetained(), m.getProperties()));
            }

            @Override
            public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken t) {}

            @Override
            public void connectComplete(boolean reconnect, String uri) {}

            @Override
            public void authPacketArrived(int code, MqttProperties p) {}
        });
        client.connect(options);
    }

    public void subscribe(String filter) throws MqttException {
        client.subscribe(new org.eclipse.paho.mqttv5.common.MqttSubscription[] {
                new org.eclipse.paho.mqttv5.common.MqttSubscription(filter, 1)});
    }

    public void publish(String topic, byte[] payload, int qos) throws MqttException {
        publish(topic, payload, qos, new MqttProperties());
    }

    public void publish(String topic, String payload) throws MqttException {
        publish(topic, payload.getBytes(StandardCharsets.UTF_8), 1);
    }

    public void publish(String topic, byte[] payload, int qos, MqttProperties properties) throws MqttException {
        MqttMessage message = new MqttMessage(payload, qos, false, properties);
        while (true) {
            try {
                client.publish(topic, message);
                return;
            } catch (MqttException e) {
                if (e.getReasonCode() != 32202) { // too many in flight: wait for acknowledgements
                    throw e;
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** Waits for the next received message that matches, keeping the others for later calls. */
    public Received await(Predicate<Received> predicate, Duration timeout, String what) throws InterruptedException {
        synchronized (seen) {
            for (Received r : seen) {
                if (predicate.test(r)) {
                    seen.remove(r);
                    return r;
                }
            }
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Received r = inbox.poll(50, TimeUnit.MILLISECONDS);
            if (r == null) {
                continue;
            }
            if (predicate.test(r)) {
                return r;
            }
            synchronized (seen) {
                seen.add(r);
            }
        }
        fail("no " + what + " arrived within " + timeout.toSeconds() + " s");
        throw new AssertionError();
    }

    public Received awaitTopic(String topic, Duration timeout) throws InterruptedException {
        return await(r -> r.topic().equals(topic), timeout, "message on " + topic);
    }

    /** Everything received so far, on this topic. */
    public List<Received> drain(String topic) {
        List<Received> out = new ArrayList<>();
        synchronized (seen) {
            inbox.drainTo(seen);
            seen.removeIf(r -> {
                if (r.topic().equals(topic)) {
                    out.add(r);
                    return true;
                }
                return false;
            });
        }
        return out;
    }

    @Override
    public void close() throws MqttException {
        if (client.isConnected()) {
            client.disconnect();
        }
        client.close();
    }
}
