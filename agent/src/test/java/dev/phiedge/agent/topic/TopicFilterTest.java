package dev.phiedge.agent.topic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TopicFilterTest {

    @Test
    void acceptsValidFiltersAndRefusesInvalidOnes() {
        for (String ok : List.of("a", "a/b", "+", "#", "a/+/c", "a/#", "/a", "a//b", "+/+/#", "$share/g/a/+", "$SYS/#")) {
            assertTrue(TopicFilter.parse(ok).filter().isPresent(), ok);
        }
        for (String bad : List.of("", "a#", "a/#/b", "a/b+", "+a", "#/a", "$share/g", "$share//a", "$share/g+/a",
                "$share/g/", "a\0b")) {
            TopicFilter.Parsed parsed = TopicFilter.parse(bad);
            assertTrue(parsed.filter().isEmpty(), bad);
            assertNotNull(parsed.error());
        }
    }

    /** Matching as MQTT 5 section 4.7 defines it, including its own examples. */
    @Test
    void matchesLikeTheSpecification() {
        TopicFilter sport = TopicFilter.of("sport/tennis/player1/#");
        assertTrue(sport.matches("sport/tennis/player1"));
        assertTrue(sport.matches("sport/tennis/player1/ranking"));
        assertTrue(sport.matches("sport/tennis/player1/score/wimbledon"));
        assertTrue(TopicFilter.of("sport/#").matches("sport"));
        assertTrue(TopicFilter.of("sport/tennis/+").matches("sport/tennis/player1"));
        assertFalse(TopicFilter.of("sport/tennis/+").matches("sport/tennis/player1/ranking"));
        assertFalse(TopicFilter.of("sport/+").matches("sport"));
        assertTrue(TopicFilter.of("sport/+").matches("sport/"));
        assertTrue(TopicFilter.of("+/+").matches("/finance"));
        assertTrue(TopicFilter.of("/+").matches("/finance"));
        assertFalse(TopicFilter.of("+").matches("/finance"));
        assertFalse(TopicFilter.of("#").matches("$SYS/uptime"));
        assertFalse(TopicFilter.of("+/monitor/Clients").matches("$SYS/monitor/Clients"));
        assertTrue(TopicFilter.of("$SYS/#").matches("$SYS/uptime"));
        assertTrue(TopicFilter.of("$share/fleet/greenhouse/+/climate").matches("greenhouse/3/climate"));
    }

    @Test
    void knowsWhichLevelsExist() {
        TopicFilter open = TopicFilter.of("a/+/#");
        assertTrue(open.levelAlwaysExists(1));
        assertFalse(open.levelAlwaysExists(2));
        assertTrue(open.levelCanExist(9));
        TopicFilter closed = TopicFilter.of("$share/g/a/+/c");
        assertEquals("a/+/c", closed.filterProper());
        assertTrue(closed.levelCanExist(2));
        assertFalse(closed.levelCanExist(3));
    }

    @Test
    void topicNamesHaveNoWildcards() {
        assertNull(TopicFilter.topicNameProblem("a/b/c"));
        assertNotNull(TopicFilter.topicNameProblem("a/+/c"));
        assertNotNull(TopicFilter.topicNameProblem("a/#"));
        assertNotNull(TopicFilter.topicNameProblem(""));
    }
}
