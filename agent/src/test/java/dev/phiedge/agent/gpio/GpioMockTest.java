package dev.phiedge.agent.gpio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInput;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalOutput;
import dev.phiedge.agent.config.GpioConfig;
import dev.phiedge.agent.config.GpioConfigTest;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The GPIO feature end to end on Pi4J's mock provider: real Pi4J contexts, inputs, outputs and listeners. */
class GpioMockTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final BlockingQueue<Message> events = new LinkedBlockingQueue<>();
    private Gpio gpio;

    record Message(String topic, JsonNode json) {}

    @AfterEach
    void close() {
        if (gpio != null) {
            gpio.close();
        }
    }

    private Gpio start(String yaml) throws Exception {
        GpioConfig config = GpioConfig.parse(Path.of("agent.yaml"), GpioConfigTest.gpioNode(yaml));
        gpio = Gpio.start(config, (topic, payload) -> {
            try {
                events.add(new Message(topic, JSON.readTree(payload)));
            } catch (java.io.IOException e) {
                throw new AssertionError("not JSON: " + new String(payload, java.nio.charset.StandardCharsets.UTF_8), e);
            }
        });
        return gpio;
    }

    private MockDigitalInput input(String name) {
        return gpio.context().io(name, MockDigitalInput.class);
    }

    private MockDigitalOutput output(String name) {
        return gpio.context().io(name, MockDigitalOutput.class);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting until " + what);
            Thread.sleep(10);
        }
    }

    @Test
    void aRisingEdgeBecomesOneEventJson() throws Exception {
        start("""
                gpio:
                  provider: mock
                  inputs:
                    - {name: pir-front, pin: 23, pull: down, debounce_ms: 20, topic: gpio/pir-front, edge: rising}
                """);
        Instant before = Instant.now().minusSeconds(1);
        input("pir-front").mockState(DigitalState.HIGH);

        Message event = events.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(event != null, "no event for the rising edge");
        assertEquals("gpio/pir-front", event.topic());
        assertEquals(23, event.json().get("pin").intValue());
        assertEquals("pir-front", event.json().get("name").textValue());
        assertEquals("high", event.json().get("state").textValue());
        Instant ts = Instant.parse(event.json().get("ts").textValue());
        assertTrue(ts.isAfter(before), "ts " + ts);
        assertEquals(List.of("pin", "name", "state", "ts"), fieldNames(event.json()));

        // the falling edge is not configured: the input settles low, and nothing is published
        input("pir-front").mockState(DigitalState.LOW);
        await("the input settles low", () -> gpio.inputs().level("pir-front") == GpioConfig.Level.LOW);
        input("pir-front").mockState(DigitalState.HIGH);
        Message second = events.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(second != null, "no event for the second rising edge");
        assertEquals("high", second.json().get("state").textValue());
        Thread.sleep(200);
        assertTrue(events.isEmpty(), "unexpected events: " + events);
        assertEquals(GpioConfig.Level.HIGH, gpio.inputs().level("pir-front"));
    }

    @Test
    void bothEdgesAreReportedInOrder() throws Exception {
        start("""
                gpio:
                  provider: mock
                  inputs: [{name: door, pin: 5, debounce_ms: 0}]
                """);
        input("door").mockState(DigitalState.HIGH);
        assertEquals("high", events.poll(WAIT.toSeconds(), TimeUnit.SECONDS).json().get("state").textValue());
        input("door").mockState(DigitalState.LOW);
        Message low = events.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals("gpio/door", low.topic());
        assertEquals("low", low.json().get("state").textValue());
    }

    @Test
    void aBounceShorterThanTheDebounceTimeIsNoEvent() throws Exception {
        start("""
                gpio:
                  provider: mock
                  inputs: [{name: button, pin: 6, debounce_ms: 300}]
                """);
        MockDigitalInput button = input("button");
        // contact bounce: a burst of changes that ends where it started, well inside 300 ms
        for (int i = 0; i < 5; i++) {
            button.mockState(DigitalState.HIGH);
            button.mockState(DigitalState.LOW);
        }
        // then a real press that holds
        button.mockState(DigitalState.HIGH);
        Message press = events.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals("high", press.json().get("state").textValue());
        Thread.sleep(500);
        assertTrue(events.isEmpty(), "the bounce leaked events: " + events);
    }

    @Test
    void aCriticalResultDrivesTheOutputHighThenBackLow() throws Exception {
        start("""
                gpio:
                  provider: mock
                  outputs: [{name: alarm-led, pin: 17, initial: low}]
                  rules:
                    - {route: greenhouse-climate, label: critical, output: alarm-led, state: high, for_s: 0.2}
                """);
        MockDigitalOutput led = output("alarm-led");
        assertEquals(DigitalState.LOW, led.state());

        gpio.onResult("greenhouse-climate", "normal");
        gpio.onResult("camera-events", "critical");
        assertEquals(DigitalState.LOW, led.state(), "only the rule's route and label drive the pin");

        gpio.onResult("greenhouse-climate", "critical");
        assertEquals(DigitalState.HIGH, led.state());
        assertEquals(GpioConfig.Level.HIGH, gpio.actuators().level("alarm-led"));
        await("the LED returns low after for_s", () -> led.state() == DigitalState.LOW);
        assertEquals(GpioConfig.Level.LOW, gpio.actuators().level("alarm-led"));
    }

    @Test
    void aRuleWithoutHoldTimeLatchesUntilAnotherRuleChangesIt() throws Exception {
        start("""
                gpio:
                  provider: mock
                  outputs: [{name: relay, pin: 27, initial: high}]
                  rules:
                    - {route: greenhouse-climate, label: critical, output: relay, state: low}
                    - {route: greenhouse-climate, label: normal, output: relay, state: high}
                """);
        MockDigitalOutput relay = output("relay");
        assertEquals(DigitalState.HIGH, relay.state(), "initial level");
        gpio.onResult("greenhouse-climate", "critical");
        assertEquals(DigitalState.LOW, relay.state());
        gpio.onResult("greenhouse-climate", "warning");
        Thread.sleep(100);
        assertEquals(DigitalState.LOW, relay.state(), "no rule for warning: it stays");
        gpio.onResult("greenhouse-climate", "normal");
        assertEquals(DigitalState.HIGH, relay.state());
    }

    @Test
    void closingPutsOutputsBackToTheirInitialLevel() throws Exception {
        start("""
                gpio:
                  provider: mock
                  outputs: [{name: buzzer, pin: 22}]
                  rules: [{route: r, label: critical, output: buzzer, for_s: 3600}]
                """);
        MockDigitalOutput buzzer = output("buzzer");
        gpio.onResult("r", "critical");
        assertEquals(DigitalState.HIGH, buzzer.state());
        gpio.actuators().close();
        assertEquals(DigitalState.LOW, buzzer.state());
        gpio.onResult("r", "critical");
        assertEquals(DigitalState.LOW, buzzer.state(), "closed: results no longer drive pins");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
