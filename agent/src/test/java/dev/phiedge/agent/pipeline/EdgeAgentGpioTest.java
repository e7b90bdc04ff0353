package dev.phiedge.agent.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInput;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalOutput;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.gpio.Gpio;
import dev.phiedge.agent.testing.BrokerAndModel;
import dev.phiedge.agent.testing.GatedBackend;
import dev.phiedge.agent.testing.TestClient;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPIO in the running daemon, with Pi4J's mock provider, a real Mosquitto and the real demo model:
 * a classification drives an output pin through a rule; an input edge becomes an event that is both
 * published on its topic and handled by the route that subscribes to it, also while the broker is away.
 */
class EdgeAgentGpioTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();
    @RegisterExtension
    static final BrokerAndModel shared = new BrokerAndModel();

    @TempDir
    Path dir;

    /** The demo's greenhouse route (system text and prompt verbatim, as the model was trained) under a prefix. */
    private static String greenhouseRoute(String d) {
        return """
                  - name: greenhouse-climate
                    subscribe: %s/greenhouse/+/climate
                    task: classify
                    labels: [normal, warning, critical]
                    system: "You watch over a greenhouse. Classify each climate reading as normal, warning or critical."
                    prompt: "Zone {$topic[2]}: temperature {temperature} C, humidity {humidity} %%, soil moisture {soil_moisture} %%, CO2 {co2} ppm."
                    publish: %s/greenhouse/{$topic[2]}/climate/assessment
                """.formatted(d, d);
    }

    /**
     * A route fed by a GPIO input: its prompt and publish topic use the event's fields. The demo model was
     * not trained for door sensors, so only the label set of its answers is checked, not which label.
     */
    private static String doorRoute(String d) {
        return """
                  - name: door-motion
                    subscribe: %s/gpio/+
                    task: classify
                    labels: [ignore, alert]
                    system: "You watch a greenhouse door sensor. Classify each event as ignore or alert."
                    prompt: "Sensor {name} on pin {pin} went {state} at {ts}."
                    publish: %s/doors/{name}/{state}
                """.formatted(d, d);
    }

    private AgentConfig config(String d, String url, String routes, String gpio) throws Exception {
        Path file = dir.resolve("agent.yaml");
        Files.writeString(file, """
                device_id: %s
                mqtt: {url: "%s", reconnect_initial_ms: 200, reconnect_max_s: 2}
                model: {path: "%s", context: 512}
                routes:
                %s
                gpio:
                %s""".formatted(d, url, BrokerAndModel.DEMO_MODEL, routes, gpio));
        return ConfigLoader.load(file);
    }

    private static String device(TestInfo info) {
        return info.getTestMethod().orElseThrow().getName().toLowerCase();
    }

    private static MockDigitalOutput output(EdgeAgent agent, String name) {
        Gpio gpio = agent.gpio().orElseThrow();
        return gpio.context().io(name, MockDigitalOutput.class);
    }

    private static MockDigitalInput input(EdgeAgent agent, String name) {
        return agent.gpio().orElseThrow().context().io(name, MockDigitalInput.class);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting until " + what);
            Thread.sleep(5);
        }
    }

    private static byte[] reading(String id, double temperature, int humidity, int soil, int co2) {
        return ("{\"id\": \"" + id + "\", \"temperature\": " + temperature + ", \"humidity\": " + humidity
                + ", \"soil_moisture\": " + soil + ", \"co2\": " + co2 + "}").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aCriticalReadingDrivesTheAlarmPinHighForItsHoldTime(TestInfo info) throws Exception {
        String d = device(info);
        AgentConfig config = config(d, shared.broker().url(), greenhouseRoute(d), """
                  provider: mock
                  outputs: [{name: alarm-led, pin: 17, initial: low}]
                  rules:
                    - {route: greenhouse-climate, label: critical, output: alarm-led, state: high, for_s: 1}
                """);
        try (TestClient client = new TestClient(shared.broker().url(), d + "-test");
             EdgeAgent agent = new EdgeAgent(config, GatedBackend.open(shared.model()))) {
            client.subscribe(d + "/#");
            agent.start();
            assertTrue(agent.awaitConnected(WAIT), "agent connects");
            MockDigitalOutput led = output(agent, "alarm-led");
            assertEquals(DigitalState.LOW, led.state(), "outputs start at their initial level");

            // normal by the model's rules: no rule matches, the pin stays low
            client.publish(d + "/greenhouse/6/climate", reading("r-1", 21.0, 72, 36, 857), 1);
            JsonNode normal = JSON.readTree(client.awaitTopic(d + "/greenhouse/6/climate/assessment", WAIT).payload());
            assertEquals("normal", normal.get("label").textValue(), normal.toString());
            assertEquals(DigitalState.LOW, led.state());

            // critical (temperature >= 40): the rule drives the pin before the result is published
            client.publish(d + "/greenhouse/3/climate", reading("r-2", 44.0, 60, 40, 800), 1);
            JsonNode critical = JSON.readTree(client.awaitTopic(d + "/greenhouse/3/climate/assessment", WAIT).payload());
            long seenHigh = System.nanoTime();
            assertEquals("critical", critical.get("label").textValue(), critical.toString());
            assertEquals(DigitalState.HIGH, led.state(), "the alarm is on when the critical result is out");

            // back to the initial level once for_s is over, not before
            await("the LED returns to its initial level", () -> led.state() == DigitalState.LOW);
            long heldMs = (System.nanoTime() - seenHigh) / 1_000_000;
            assertTrue(heldMs >= 700 && heldMs < 5_000, "held " + heldMs + " ms for for_s: 1");
            assertEquals(2, agent.stats().processed());
        }
    }

    @Test
    void anInputEdgeIsPublishedOnItsTopicAndHandledOnceByTheRouteOnIt(TestInfo info) throws Exception {
        String d = device(info);
        AgentConfig config = config(d, shared.broker().url(), doorRoute(d), """
                  provider: mock
                  inputs:
                    - {name: pir-door, pin: 23, pull: down, debounce_ms: 20, topic: %s/gpio/pir-door, edge: rising}
                """.formatted(d));
        try (TestClient client = new TestClient(shared.broker().url(), d + "-test");
             EdgeAgent agent = new EdgeAgent(config, GatedBackend.open(shared.model()))) {
            client.subscribe(d + "/#");
            agent.start();
            assertTrue(agent.awaitConnected(WAIT), "agent connects");
            Instant before = Instant.now().minusSeconds(1);

            input(agent, "pir-door").mockState(DigitalState.HIGH);

            // other subscribers see the event JSON on the input's topic ...
            JsonNode event = JSON.readTree(client.awaitTopic(d + "/gpio/pir-door", WAIT).payload());
            assertEquals(23, event.get("pin").intValue());
            assertEquals("pir-door", event.get("name").textValue());
            assertEquals("high", event.get("state").textValue());
            assertTrue(Instant.parse(event.get("ts").textValue()).isAfter(before), event.toString());

            // ... and the route on that topic answers it; its publish topic is rendered from the event's fields
            JsonNode result = JSON.readTree(client.awaitTopic(d + "/doors/pir-door/high", WAIT).payload());
            assertEquals("door-motion", result.get("route").textValue());
            assertEquals(d + "/gpio/pir-door", result.get("source_topic").textValue());
            assertTrue(List.of("ignore", "alert").contains(result.get("label").textValue()), result.toString());
            assertEquals(List.of("ignore", "alert"), fieldNames(result.get("scores")));

            // handled exactly once: the copy the agent published does not come back to it (No Local)
            Thread.sleep(500);
            assertEquals(1, agent.stats().received(), "one event into the intake");
            assertEquals(1, agent.stats().processed());
            assertEquals(List.of(), client.drain(d + "/doors/pir-door/high"), "a second answer");
            assertEquals(List.of(), client.drain(d + "/gpio/pir-door"), "a second event");
        }
    }

    @Test
    void anInputEdgeIsHandledWhileTheBrokerIsAway(TestInfo info) throws Exception {
        String d = device(info);
        String nowhere;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            nowhere = "tcp://127.0.0.1:" + socket.getLocalPort(); // closed again: nothing listens there
        }
        // whichever label the model gives the door event, the rule lights the LED
        AgentConfig config = config(d, nowhere, doorRoute(d), """
                  provider: mock
                  inputs: [{name: pir-door, pin: 23, debounce_ms: 0, topic: %s/gpio/pir-door, edge: rising}]
                  outputs: [{name: door-led, pin: 24}]
                  rules:
                    - {route: door-motion, label: ignore, output: door-led, state: high}
                    - {route: door-motion, label: alert, output: door-led, state: high}
                """.formatted(d));
        try (EdgeAgent agent = new EdgeAgent(config, GatedBackend.open(shared.model()))) {
            agent.start();
            MockDigitalOutput led = output(agent, "door-led");
            input(agent, "pir-door").mockState(DigitalState.HIGH);
            await("the door event is answered", () -> agent.stats().processed() == 1);
            assertEquals(DigitalState.HIGH, led.state());
            assertFalse(agent.isConnected(), "no broker was ever reachable");
        }
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
