package dev.phiedge.agent.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Route conditions against Frigate's payloads. The payloads follow Frigate's MQTT documentation
 * (docs/docs/integrations/mqtt.md of blakeblackshear/frigate): {@code frigate/events} carries
 * {@code {"type": "new"|"update"|"end", "before": {...}, "after": {...}}} with {@code id}, {@code camera},
 * {@code label}, {@code sub_label} (null, or {@code [name, score]} in recent versions), {@code top_score},
 * {@code score}, {@code current_zones}, {@code entered_zones}, {@code false_positive}, ...;
 * {@code frigate/reviews} carries {@code after.severity} and {@code after.data.{detections, objects,
 * sub_labels, zones, audio}}. Every expectation is worked out by hand from those values.
 */
class RouteConditionTest {

    private static final PayloadReader READER = new PayloadReader(64);

    /** The documentation's {@code after} object, with the type and a few fields set per test. */
    private static JsonNode event(String type, String label, String topScore, String enteredZones, String subLabel)
            throws Exception {
        return READER.read("""
                {"type": "%s",
                 "before": {"id": "1607123955.475377-mxklsc", "camera": "front_door", "label": "%s",
                            "top_score": 0.958984375, "current_zones": ["driveway"], "entered_zones": ["yard", "driveway"]},
                 "after": {"id": "1607123955.475377-mxklsc", "camera": "front_door", "frame_time": 1607123962.082975,
                           "label": "%s", "sub_label": %s, "top_score": %s, "false_positive": false,
                           "start_time": 1607123955.475377, "end_time": null, "score": 0.87890625,
                           "box": [432, 496, 544, 854], "area": 40096, "current_zones": ["yard", "driveway"],
                           "entered_zones": %s, "thumbnail": null, "has_snapshot": false, "has_clip": false,
                           "stationary": false, "motionless_count": 0, "position_changes": 2}}
                """.formatted(type, label, label, subLabel, topScore, enteredZones));
    }

    private static JsonNode end(String label, String topScore) throws Exception {
        return event("end", label, topScore, "[\"yard\", \"driveway\"]", "null");
    }

    /** The documentation's frigate/reviews example ("after" side). */
    private static final String REVIEW = """
            {"type": "update",
             "before": {"id": "1718987129.308396-fqk5ka", "camera": "front_cam", "start_time": 1718987129.308396,
                        "end_time": null, "severity": "detection",
                        "thumb_path": "/media/frigate/clips/review/thumb-front_cam-1718987129.308396-fqk5ka.webp",
                        "data": {"detections": ["1718987128.947436-g92ztx", "1718987148.879516-d7oq7r",
                                                "1718987126.934663-q5ywpt"],
                                 "objects": ["person", "car"], "sub_labels": [], "zones": [], "audio": []}},
             "after": {"id": "1718987129.308396-fqk5ka", "camera": "front_cam", "start_time": 1718987129.308396,
                       "end_time": null, "severity": "alert",
                       "thumb_path": "/media/frigate/clips/review/thumb-front_cam-1718987129.308396-fqk5ka.webp",
                       "data": {"detections": ["1718987128.947436-g92ztx", "1718987148.879516-d7oq7r",
                                               "1718987126.934663-q5ywpt"],
                                "objects": ["person", "car"], "sub_labels": ["Bob"], "zones": ["front_yard"],
                                "audio": []}}}
            """;

    /** Builds a condition the way YAML hands it over: keys in order, values as SnakeYAML makes them. */
    private static RouteCondition when(Object... keysAndValues) throws TemplateSyntaxException {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return RouteCondition.parse(map);
    }

    /** The sample configuration's condition: only ended events of four labels with a good enough score. */
    @Test
    void theSampleConditionTakesOnlyEndedEventsOfTheListedLabelsAboveTheScore() throws Exception {
        RouteCondition when = when("type", List.of("end"), "after.label", List.of("person", "car", "dog", "cat"),
                "after.top_score", ">= 0.6");
        assertTrue(when.test(end("person", "0.958984375")));
        assertTrue(when.test(end("car", "0.7")));
        assertTrue(when.test(end("cat", "0.6")), "0.6 >= 0.6");
        assertTrue(when.test(end("dog", "0.60")), "0.60 is the number 0.6");
        assertTrue(when.test(end("dog", "6e-1")), "6e-1 is the number 0.6");
        assertFalse(when.test(end("dog", "0.59999")), "0.59999 < 0.6");
        assertFalse(when.test(end("person", "0.5")));
        assertFalse(when.test(end("bicycle", "0.9")), "label not listed");
        assertFalse(when.test(end("Person", "0.9")), "labels compare with their case");
        assertFalse(when.test(event("new", "person", "0.9", "[]", "null")), "type new");
        assertFalse(when.test(event("update", "person", "0.9", "[]", "null")), "type update");
        assertFalse(when.test(end("person", "\"0.9\"")), "a score sent as text is not a number");
        assertFalse(when.test(end("person", "null")), "a null score has no value");
        assertEquals(3, when.clauses().size());
        assertEquals("type == end and after.label in [person, car, dog, cat] and after.top_score >= 0.6", when.toString());
    }

    @Test
    void aMissingFieldFailsEveryConditionButEqualsNull() throws Exception {
        JsonNode noScore = READER.read("{\"type\": \"end\", \"after\": {\"id\": \"x\", \"label\": \"person\"}}");
        for (Object value : List.of(">= 0.6", "> 0", "< 1", "<= 1", "== 0.9", "!= 0.9", "!= null", "0.9", List.of("0.9"))) {
            assertFalse(when("after.top_score", value).test(noScore), "missing after.top_score, condition " + value);
        }
        assertTrue(when("after.top_score", "== null").test(noScore));
        // a whole missing object along the path
        assertFalse(when("before.camera", "front_door").test(noScore));
        assertTrue(when("before.camera", "== null").test(noScore));
        // a path through a value that is not an object
        assertTrue(when("after.label.first", "== null").test(noScore));
        assertFalse(when("after.label.first", "!= null").test(noScore));
    }

    @Test
    void nullAndPresence() throws Exception {
        JsonNode anonymous = event("end", "person", "0.9", "[]", "null");
        JsonNode named = event("end", "person", "0.9", "[]", "[\"John Smith\", 0.79]");
        JsonNode oldStyle = event("end", "person", "0.9", "[]", "\"John Smith\"");
        assertTrue(when("after.sub_label", "== null").test(anonymous));
        assertFalse(when("after.sub_label", "!= null").test(anonymous));
        assertFalse(when("after.sub_label", "== null").test(named));
        assertTrue(when("after.sub_label", "!= null").test(named));
        assertTrue(when("after.end_time", "== null").test(named), "the documentation's end_time is null");
        // a null field has no value: even != fails on it
        assertFalse(when("after.sub_label", "!= Bob").test(anonymous));
        // recent Frigate: sub_label is [name, score]; index 0 is the name
        assertTrue(when("after.sub_label.0", "John Smith").test(named));
        assertTrue(when("after.sub_label", "John Smith").test(named), "an array contains the name");
        assertFalse(when("after.sub_label.0", "John Smith").test(anonymous));
        assertTrue(when("after.sub_label", "John Smith").test(oldStyle), "older Frigate: a plain text");
        assertTrue(when("after.sub_label.1", ">= 0.75").test(named), "0.79 >= 0.75");
        assertFalse(when("after.sub_label.1", ">= 0.8").test(named), "0.79 < 0.8");
    }

    @Test
    void zonesAreArraysTestedForContainment() throws Exception {
        JsonNode driveway = event("update", "car", "0.8", "[\"yard\", \"driveway\"]", "null");
        JsonNode porch = event("update", "person", "0.8", "[\"porch\"]", "null");
        JsonNode nowhere = event("update", "person", "0.8", "[]", "null");
        RouteCondition watched = when("after.entered_zones", List.of("porch", "driveway"));
        assertTrue(watched.test(driveway));
        assertTrue(watched.test(porch));
        assertFalse(watched.test(nowhere), "an empty array contains nothing");
        RouteCondition yard = when("after.entered_zones", "yard");
        assertTrue(yard.test(driveway));
        assertFalse(yard.test(porch));
        assertTrue(when("after.entered_zones", "== yard").test(driveway));
        RouteCondition notPorch = when("after.entered_zones", "!= porch");
        assertTrue(notPorch.test(driveway));
        assertFalse(notPorch.test(porch));
        assertTrue(notPorch.test(nowhere), "an empty array contains no porch");
        assertTrue(when("after.current_zones.0", "yard").test(driveway), "a numeric segment indexes the array");
        assertTrue(when("after.current_zones.2", "== null").test(driveway), "index 2 of a two-element array");
        assertTrue(when("after.entered_zones", "!= null").test(nowhere), "an empty array is present");
        assertFalse(when("after.entered_zones", "> 1").test(driveway), "orderings need a number, not an array");
    }

    @Test
    void numbersCompareByValue() throws Exception {
        JsonNode e = end("person", "0.958984375");
        assertTrue(when("after.score", "> 0.8").test(e), "0.87890625 > 0.8");
        assertFalse(when("after.score", "> 0.87890625").test(e));
        assertTrue(when("after.score", ">= 0.87890625").test(e));
        assertTrue(when("after.score", "<= 0.87890625").test(e));
        assertFalse(when("after.score", "< 0.87890625").test(e));
        assertTrue(when("after.position_changes", "> 1").test(e), "2 > 1");
        assertFalse(when("after.position_changes", "<= 1").test(e));
        assertTrue(when("after.position_changes", "< 10").test(e));
        assertTrue(when("after.position_changes", "== 2.0").test(e), "2 == 2.0");
        assertTrue(when("after.position_changes", 2).test(e), "a YAML integer");
        assertTrue(when("after.position_changes", "2").test(e), "a quoted number still reads as a number");
        assertTrue(when("after.motionless_count", new BigDecimal("0")).test(e));
        assertTrue(when("after.area", ">= 4.0096e4").test(e), "40096 >= 40096");
        assertTrue(when("after.area", List.of(40096L, 1)).test(e));
        assertTrue(when("after.score", 0.87890625d).test(e), "a YAML decimal as a Double");
        assertFalse(when("after.camera", "> 1").test(e), "text is never ordered");
        // with doubles instead of BigDecimal (another parser): the same answers
        JsonNode doubles = new ObjectMapper().readTree("{\"after\": {\"top_score\": 0.6, \"score\": 0.59999}}");
        assertTrue(when("after.top_score", ">= 0.6").test(doubles));
        assertFalse(when("after.score", ">= 0.6").test(doubles));
    }

    @Test
    void scalarsBooleansAndText() throws Exception {
        JsonNode e = end("person", "0.9");
        assertTrue(when("after.false_positive", false).test(e));
        assertTrue(when("after.false_positive", "false").test(e));
        assertTrue(when("after.false_positive", "== false").test(e));
        assertFalse(when("after.has_clip", true).test(e));
        assertTrue(when("after.has_clip", "!= true").test(e));
        assertTrue(when("after.camera", "front_door").test(e));
        assertTrue(when("after.camera", "== front_door").test(e));
        assertTrue(when("after.camera", "  ==   front_door  ").test(e), "spaces around the operator and value");
        assertFalse(when("after.camera", "!= front_door").test(e));
        assertTrue(when("after.camera", "!= back_yard").test(e));
        assertTrue(when("after.label", "== person").test(e));
        assertFalse(when("after.camera", "front").test(e), "equality is whole text");
        assertTrue(when("after.box", "432").test(e), "the box [432, 496, 544, 854] contains 432");
        assertFalse(when("after", "front_door").test(e), "an object equals nothing");
        assertTrue(when("after", "!= null").test(e));
        // list items are literal values, never operators
        JsonNode odd = READER.read("{\"note\": \">= 3\"}");
        assertTrue(when("note", List.of(">= 3")).test(odd));
        assertFalse(when("note", ">= 3").test(odd), "as a value it compares: text is not a number");
        // braces around the path are accepted, as in coalesce_key
        assertTrue(when("{after.camera}", "front_door").test(e));
    }

    @Test
    void reviewsMatchOnSeverityObjectsAndZones() throws Exception {
        JsonNode review = READER.read(REVIEW);
        RouteCondition alerts = when("type", List.of("update", "end"), "after.severity", "alert",
                "after.data.objects", List.of("person"), "after.data.zones", "front_yard");
        assertTrue(alerts.test(review));
        assertFalse(when("before.severity", "alert").test(review), "before was a detection");
        assertTrue(when("after.data.sub_labels", "Bob").test(review));
        assertFalse(when("before.data.sub_labels", "Bob").test(review), "empty before");
        assertTrue(when("after.data.detections.2", "1718987126.934663-q5ywpt").test(review));
        assertFalse(when("after.data.audio", "!= null", "after.data.objects", "dog").test(review),
                "all entries must hold: no dog");
    }

    @Test
    void everyEntryMustHold() throws Exception {
        JsonNode e = end("person", "0.9");
        assertTrue(when("type", "end", "after.camera", "front_door", "after.top_score", "> 0.5").test(e));
        assertFalse(when("type", "end", "after.camera", "back_yard", "after.top_score", "> 0.5").test(e));
        RouteCondition c = when("type", "end", "after.camera", "back_yard");
        assertEquals("after.camera == back_yard", c.firstFailing(e).orElseThrow().toString());
        assertTrue(when("type", "end").firstFailing(e).isEmpty());
    }

    @Test
    void alwaysHolds() throws Exception {
        assertTrue(RouteCondition.always().test(READER.read("{}")));
        assertTrue(RouteCondition.always().test(READER.read("[1, 2]")));
        assertSame(RouteCondition.always(), RouteCondition.of(List.of()));
        assertSame(RouteCondition.always(), RouteCondition.parse(Map.of()));
        assertEquals("always", RouteCondition.always().toString());
    }

    private static String error(String path, Object value) {
        return assertThrows(TemplateSyntaxException.class, () -> RouteCondition.clause(path, value)).getMessage();
    }

    @Test
    void mistakesAreRefusedWithWordsThatSayWhatToWrite() {
        assertTrue(error("after.top_score", ">= high").contains("'>=' compares numbers: expected a number after it, got 'high'"),
                error("after.top_score", ">= high"));
        assertTrue(error("after.top_score", "> 0.6.1").contains("got '0.6.1'"));
        assertTrue(error("after.top_score", "<").contains("nothing after '<'"));
        assertTrue(error("after.label", "==").contains("nothing after '=='; e.g. \"== null\""));
        assertTrue(error("after.label", List.of()).contains("an empty list matches nothing"));
        assertTrue(error("after.label", null).contains("\"== null\""));
        assertTrue(error("after.label", Arrays.asList("person", null)).contains("item 1 of the list is empty"));
        assertTrue(error("after.label", List.of(List.of("a"))).contains("got a list"));
        assertTrue(error("after.label", List.of(Map.of())).contains("got a mapping"));
        assertTrue(error("after", Map.of("label", "person")).contains("one dotted path"));
        assertTrue(error("$topic[1]", "x").contains("payload fields only"));
        assertTrue(error("after..label", "x").contains("single dots"));
        assertTrue(error("", "x").contains("empty payload path"));
        assertTrue(error("after.score", Double.NaN).contains("expected a text, number or boolean"));
        assertTrue(error("after.score", new ArrayList<>(List.of(new Object()))).contains("expected a text, number or boolean"));
    }
}
