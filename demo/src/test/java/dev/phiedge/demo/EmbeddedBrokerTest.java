package dev.phiedge.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.Test;

/** The demo's embedded HiveMQ really brokers MQTT 5 between Paho clients, and goes away cleanly. */
class EmbeddedBrokerTest {

    record Received(String topic, MqttMessage message) {}

    @Test
    void pahoV5ClientsPublishAndSubscribeThroughIt() throws Exception {
        int port;
        try (EmbeddedBroker broker = new EmbeddedBroker().start()) {
            port = broker.port();
            assertEquals("tcp://127.0.0.1:" + port, broker.url());

            BlockingQueue<Received> inbox = new LinkedBlockingQueue<>();
            MqttClient subscriber = connect(broker.url(), "subscriber");
            MqttClient publisher = connect(broker.url(), "publisher");
            try {
                IMqttMessageListener listener = (topic, message) -> inbox.add(new Received(topic, message));
                subscriber.subscribe(new MqttSubscription[] {new MqttSubscription("greenhouse/+/climate", 1)},
                        new IMqttMessageListener[] {listener});

                // an MQTT 5 request: response topic, correlation data and message expiry reach the subscriber
                MqttMessage request = new MqttMessage("{\"temperature\":41.2}".getBytes(StandardCharsets.UTF_8));
                request.setQos(1);
                MqttProperties properties = new MqttProperties();
                properties.setResponseTopic("replies/1");
                properties.setCorrelationData(new byte[] {1, 2, 3});
                properties.setMessageExpiryInterval(120L);
                request.setProperties(properties);
                publisher.publish("greenhouse/3/climate", request);
                publisher.publish("other/topic", new MqttMessage("x".getBytes(StandardCharsets.UTF_8)));

                Received got = inbox.poll(20, TimeUnit.SECONDS);
                assertNotNull(got, "nothing arrived through the broker");
                assertEquals("greenhouse/3/climate", got.topic());
                assertEquals("{\"temperature\":41.2}", new String(got.message().getPayload(), StandardCharsets.UTF_8));
                assertEquals(1, got.message().getQos());
                assertEquals("replies/1", got.message().getProperties().getResponseTopic());
                assertArrayEquals(new byte[] {1, 2, 3}, got.message().getProperties().getCorrelationData());
                Long expiry = got.message().getProperties().getMessageExpiryInterval();
                assertNotNull(expiry, "message expiry was not forwarded");
                assertTrue(expiry > 0 && expiry <= 120, "expiry " + expiry);
                assertTrue(inbox.poll(300, TimeUnit.MILLISECONDS) == null, "a message off the filter arrived");
            } finally {
                subscriber.disconnect();
                subscriber.close();
                publisher.disconnect();
                publisher.close();
            }
        }
        assertFalse(listening(port), "the broker still listens after stop()");
    }

    @Test
    void urlBeforeStartIsAnError() {
        assertThrows(IllegalStateException.class, () -> new EmbeddedBroker().url());
    }

    private static MqttClient connect(String url, String id) throws Exception {
        MqttClient client = new MqttClient(url, id, new MemoryPersistence());
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(true);
        options.setConnectionTimeout(10);
        client.connect(options);
        return client;
    }

    private static boolean listening(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (ConnectException e) {
            return false;
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
