package dev.phiedge.agent.frigate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.ConfigLoader;
import dev.phiedge.agent.config.FrigateConfig;
import dev.phiedge.agent.config.QueuePolicy;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.config.Task;
import dev.phiedge.agent.template.PayloadReader;
import dev.phiedge.agent.template.PromptTemplate;
import dev.phiedge.agent.template.TemplateInput;
import dev.phiedge.agent.testing.SharedData;
import java.net.URI;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * samples/config/frigate.yaml loads, and renders Frigate's documented payloads (Frigate's MQTT
 * documentation, docs/docs/integrations/mqtt.md: the frigate/events and frigate/reviews examples, with
 * {@code type} set to {@code end}) into the prompts written out by hand below.
 */
class FrigateSampleConfigTest {

    /** The documented frigate/events example as its final message: type end, end_time set. */
    private static final String EVENT_END = """
            {"type": "end",
             "before": {"id": "1607123955.475377-mxklsc", "camera": "front_door", "frame_time": 1607123961.837752,
                        "label": "person", "sub_label": null, "top_score": 0.958984375, "false_positive": false,
                        "start_time": 1607123955.475377, "end_time": null, "score": 0.7890625,
                        "current_zones": ["driveway"], "entered_zones": ["yard", "driveway"]},
             "after": {"id": "1607123955.475377-mxklsc", "camera": "front_door", "frame_time": 1607123962.082975,
                       "snapshot": {"frame_time": 1607123965.975463, "box": [415, 489, 528, 700], "area": 12728,
                                    "region": [260, 446, 660, 846], "score": 0.77546, "attributes": []},
                       "label": "person", "sub_label": ["John Smith", 0.79], "top_score": 0.958984375,
                       "false_positive": false, "start_time": 1607123955.475377, "end_time": 1607123966.475377,
                       "score": 0.87890625, "box": [432, 496, 544, 854], "area": 40096, "ratio": 1.251397,
                       "region": [218, 440, 693, 915], "current_zones": ["yard", "driveway"],
                       "entered_zones": ["yard", "driveway"], "thumbnail": null, "has_snapshot": false,
                       "has_clip": false, "active": true, "stationary": false, "motionless_count": 0,
                       "position_changes": 2, "attributes": {"face": 0.86}}}
            """;

    /** The documented frigate/reviews example as its final message. */
    private static final String REVIEW_END = """
            {"type": "end",
             "before": {"id": "1718987129.308396-fqk5ka", "camera": "front_cam", "start_time": 1718987129.308396,
                        "end_time": null, "severity": "alert",
                        "thumb_path": "/media/frigate/clips/review/thumb-front_cam-1718987129.308396-fqk5ka.webp",
                        "data": {"detections": ["1718987128.947436-g92ztx", "1718987148.879516-d7oq7r",
                                                "1718987126.934663-q5ywpt"],
                                 "objects": ["person", "car"], "sub_labels": ["Bob"], "zones": ["front_yard"],
                                 "audio": []}},
             "after": {"id": "1718987129.308396-fqk5ka", "camera": "front_cam", "start_time": 1718987129.308396,
                       "end_time": 1718987150.011425, "severity": "alert",
                       "thumb_path": "/media/frigate/clips/review/thumb-front_cam-1718987129.308396-fqk5ka.webp",
                       "data": {"detections": ["1718987128.947436-g92ztx", "1718987148.879516-d7oq7r",
                                               "1718987126.934663-q5ywpt"],
                                "objects": ["person", "car"], "sub_labels": ["Bob"], "zones": ["front_yard"],
                                "audio": []}}}
            """;

    private static AgentConfig config;
    private static PayloadReader reader;

    @BeforeAll
    static void load() throws Exception {
        config = ConfigLoader.load(SharedData.repoRoot().resolve("samples/config/frigate.yaml"));
        reader = new PayloadReader(config.limits().maxJsonDepth());
    }

    private static String render(PromptTemplate template, String payload, String topic) throws Exception {
        return template.render(new TemplateInput(reader.read(payload), payload, topic, config.deviceId(),
                config.limits().maxFieldChars()));
    }

    @Test
    void loads() {
        assertEquals("nvr-01", config.deviceId());
        assertTrue(Files.isRegularFile(config.model().path()));
        assertEquals(List.of("frigate-events", "frigate-reviews"), config.routes().stream().map(RouteConfig::name).toList());
        FrigateConfig frigate = config.frigate().orElseThrow();
        assertEquals(URI.create("http://127.0.0.1:5000"), frigate.url());
        assertEquals(Optional.empty(), frigate.tokenFile());
        assertEquals(Duration.ofSeconds(10), frigate.timeout());
        assertEquals(3, frigate.retries());
        assertTrue(config.homeAssistant().discovery(), "the Frigate set-up announces itself to Home Assistant");
        assertEquals("homeassistant", config.homeAssistant().prefix());
        assertEquals("127.0.0.1:9464", config.http().orElseThrow().listen());
        RouteConfig events = config.route("frigate-events").orElseThrow();
        assertEquals(Task.SUMMARIZE, events.task());
        assertTrue(events.frigateDescription());
        assertEquals(QueuePolicy.COALESCE, events.queue().policy());
        assertEquals("type == end and after.label in [person, car, dog, cat] and after.top_score >= 0.6",
                events.when().orElseThrow().toString());
        RouteConfig reviews = config.route("frigate-reviews").orElseThrow();
        assertFalse(reviews.frigateDescription());
        assertEquals("type == end and after.severity == alert", reviews.when().orElseThrow().toString());
    }

    @Test
    void rendersTheDocumentedEvent() throws Exception {
        RouteConfig route = config.route("frigate-events").orElseThrow();
        JsonNode payload = reader.read(EVENT_END);
        assertTrue(route.accepts(payload));
        assertEquals("Camera front_door: a person (John Smith) entered zones yard, driveway with score 96%. "
                + "Describe the event.", render(route.prompt(), EVENT_END, "frigate/events"));
        assertEquals("cameras/front_door/description", render(route.publish(), EVENT_END, "frigate/events"));
        assertEquals("1607123955.475377-mxklsc", PromptTemplate.renderField(route.queue().coalesceKey().orElseThrow(),
                new TemplateInput(payload, EVENT_END, "frigate/events", config.deviceId())));
        // the id the description is written back under
        assertEquals(Optional.of("1607123955.475377-mxklsc"), FrigateClient.eventId(payload));
    }

    @Test
    void rendersAnEventWithoutNameOrZonesWithTheDefaults() throws Exception {
        RouteConfig route = config.route("frigate-events").orElseThrow();
        String car = """
                {"type": "end", "before": {}, "after": {"id": "1718988000.102030-abc123", "camera": "driveway",
                 "label": "car", "sub_label": null, "top_score": 0.6, "score": 0.58, "current_zones": [],
                 "entered_zones": [], "end_time": 1718988012.5}}""";
        assertTrue(route.accepts(reader.read(car)), "0.6 is at the threshold");
        assertEquals("Camera driveway: a car (unknown) entered zones none with score 60%. Describe the event.",
                render(route.prompt(), car, "frigate/events"));
    }

    @Test
    void leavesOutWhatTheConditionsExclude() throws Exception {
        RouteConfig route = config.route("frigate-events").orElseThrow();
        assertFalse(route.accepts(reader.read(EVENT_END.replace("\"type\": \"end\"", "\"type\": \"update\""))));
        assertFalse(route.accepts(reader.read(EVENT_END.replace("\"type\": \"end\"", "\"type\": \"new\""))));
        assertFalse(route.accepts(reader.read(EVENT_END.replace("\"label\": \"person\"", "\"label\": \"bicycle\""))));
        assertFalse(route.accepts(reader.read(EVENT_END.replace("\"top_score\": 0.958984375", "\"top_score\": 0.55"))));
    }

    @Test
    void rendersTheDocumentedReview() throws Exception {
        RouteConfig route = config.route("frigate-reviews").orElseThrow();
        assertTrue(route.accepts(reader.read(REVIEW_END)));
        assertEquals("Alert on camera front_cam: objects person, car, known Bob, zones front_yard, audio none. "
                + "Summarize the alert.", render(route.prompt(), REVIEW_END, "frigate/reviews"));
        assertEquals("cameras/front_cam/review", render(route.publish(), REVIEW_END, "frigate/reviews"));
        assertFalse(route.accepts(reader.read(REVIEW_END.replace("\"type\": \"end\"", "\"type\": \"update\""))));
        assertFalse(route.accepts(reader.read(REVIEW_END.replace("\"severity\": \"alert\"", "\"severity\": \"detection\""))));
    }
}
