package dev.phiedge.agent.backend;

import dev.phiedge.agent.testing.BrokerAndModel;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The warm-up before the first event leaves no trace in the answers: a backend that warmed up
 * classifies and summarizes the demo model's events exactly as a fresh one does (the warm-up's tokens
 * sit in the session's cache until the next prompt replaces them).
 */
class RuntimeBackendWarmUpTest {
    private static final String GREENHOUSE = "You watch over a greenhouse. Classify each climate reading as normal, warning or critical.";
    private static final String CAMERA = "You describe security camera events in one short sentence.";

    @Test
    void aWarmedUpBackendAnswersAsAFreshOne() throws Exception {
        try (RuntimeBackend fresh = RuntimeBackend.load(BrokerAndModel.DEMO_MODEL, BrokerAndModel.CONTEXT, 1);
             RuntimeBackend warmed = RuntimeBackend.load(BrokerAndModel.DEMO_MODEL, BrokerAndModel.CONTEXT, 1)) {
            warmed.warmUp();
            String reading = "Sensor greenhouse-2: temperature 44.0 C, humidity 12 %.";
            List<String> labels = List.of("normal", "warning", "critical");
            ClassifyOutcome a = fresh.classify("greenhouse", GREENHOUSE, reading, labels);
            ClassifyOutcome b = warmed.classify("greenhouse", GREENHOUSE, reading, labels);
            assertEquals(a.label(), b.label());
            for (String label : labels) assertEquals(a.scores().get(label), b.scores().get(label), 1e-9, label);

            String event = "Camera front_door: person detected at 02:14, moving towards the door.";
            assertEquals(fresh.summarize("camera", CAMERA, event, 24), warmed.summarize("camera", CAMERA, event, 24));
        }
    }
}
